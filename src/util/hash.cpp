#include "fibkit/util/hash.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <cstdint>
#include <new>

namespace fibkit::util {

/// Owns an XXH3 state (which needs 64-byte alignment, so xxhash allocates it).
struct Hasher::State {
  State() : xxh(XXH3_createState()) {
    if (xxh == nullptr) {
      throw std::bad_alloc();
    }
    XXH3_128bits_reset(xxh);
  }
  State(const State& other) : State() { XXH3_copyState(xxh, other.xxh); }
  State& operator=(const State&) = delete;
  ~State() { XXH3_freeState(xxh); }

  XXH3_state_t* xxh;
};

Hasher::Hasher() : m_state(std::make_unique<State>()) {}

Hasher::Hasher(const Hasher& other) : m_state(std::make_unique<State>(*other.m_state)) {}

Hasher& Hasher::operator=(const Hasher& other) {
  if (this != &other) {
    m_state = std::make_unique<State>(*other.m_state);
  }
  return *this;
}

Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

Hasher& Hasher::update(std::string_view data) {
  const std::uint64_t n = data.size();
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) {
    length[i] = static_cast<unsigned char>(n >> (8 * i));
  }
  XXH3_128bits_update(m_state->xxh, length, sizeof length);
  XXH3_128bits_update(m_state->xxh, data.data(), data.size());
  return *this;
}

std::string Hasher::hex_digest() const {
  const XXH128_hash_t hash = XXH3_128bits_digest(m_state->xxh);
  return fmt::format("{:016x}{:016x}", hash.high64, hash.low64);
}

} // namespace fibkit::util
