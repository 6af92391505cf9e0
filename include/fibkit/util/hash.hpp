// Hashing: XXH3-128 (xxhash) behind a small streaming class, for cache keys. Not cryptographic:
// it guards against accidental collisions, not against an adversary choosing inputs.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace fibkit::util {

/// A streaming XXH3-128 hasher. Every update() feeds the length of its data (u64
/// little-endian) before the data, so the sequence of pieces is hashed, not their
/// concatenation: update("ab").update("c") and update("a").update("bc") differ.
class Hasher {
public:
  /// A hasher of the empty sequence (seed 0).
  Hasher();
  /// Copies the state: both hashers then continue independently from the same prefix.
  Hasher(const Hasher& other);
  /// Copies the state of `other` into this hasher.
  Hasher& operator=(const Hasher& other);
  /// Moves the state; the moved-from hasher must not be used again except to assign to it.
  Hasher(Hasher&&) noexcept;
  /// Moves the state; the moved-from hasher must not be used again except to assign to it.
  Hasher& operator=(Hasher&&) noexcept;
  /// Frees the state.
  ~Hasher();

  /// Feeds the length of `data`, then `data`. Returns *this for chaining.
  Hasher& update(std::string_view data);
  /// The digest of everything fed so far: 32 lowercase hex characters (high 64 bits first,
  /// as XXH128's canonical form). Does not reset; more updates may follow.
  std::string hex_digest() const;

private:
  struct State;
  std::unique_ptr<State> m_state;
};

} // namespace fibkit::util
