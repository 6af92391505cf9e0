// The safetensors format (huggingface): a u64 little-endian header length N, N bytes of a
// JSON header (an object: tensor name -> {"dtype", "shape", "data_offsets"}, plus an optional
// "__metadata__" object of strings), then the byte buffer the offsets point into.
// Reading validates everything the reference implementation (safetensors/src/tensor.rs) does,
// and reports each problem as a fibkit::Error that starts with the file name:
//   w.safetensors: header: tensor "a": data_offsets [0, 12] hold 12 bytes but shape [2, 3] of F32
//   needs 24
// Only byte-sized dtypes are supported (no F4/F6 sub-byte types).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fibkit::util {

/// Element types of safetensors, in the reference's order (increasing alignment), which also
/// fixes the writer's tensor order.
enum class StDtype : std::uint8_t {
  boolean, ///< BOOL
  u8,      ///< U8
  i8,      ///< I8
  f8_e5m2, ///< F8_E5M2
  f8_e4m3, ///< F8_E4M3
  i16,     ///< I16
  u16,     ///< U16
  f16,     ///< F16
  bf16,    ///< BF16
  i32,     ///< I32
  u32,     ///< U32
  f32,     ///< F32
  f64,     ///< F64
  i64,     ///< I64
  u64,     ///< U64
};

/// The name of a dtype as the format spells it ("F32", "BF16", "BOOL", ...).
std::string_view st_dtype_name(StDtype dtype);
/// The dtype for a format name ("F32"); nullopt for unknown or unsupported (sub-byte) names.
std::optional<StDtype> st_dtype_from_name(std::string_view name);
/// The size of one element in bytes (1, 2, 4 or 8).
std::size_t st_dtype_size(StDtype dtype);
/// The dtype for a definition dtype string ("float32" -> F32, "bfloat16" -> BF16,
/// "float8_e4m3fn" -> F8_E4M3, "int8" -> I8, "bool" -> BOOL, ...); nullopt when unmapped.
std::optional<StDtype> st_dtype_from_definition(std::string_view definition_dtype);

/// The "__metadata__" object: string keys to string values (sorted by key).
using StMetadata = std::map<std::string, std::string>;

/// A read-only range of bytes.
struct ByteSpan {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;

  /// True when there are no bytes.
  bool empty() const { return size == 0; }
};

/// One tensor of a safetensors header; begin/end are byte offsets into the buffer.
struct TensorInfo {
  std::string name;
  StDtype dtype = StDtype::u8;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  /// end - begin.
  std::uint64_t byte_size() const { return end - begin; }
  /// The number of elements (the product of the shape; 1 for rank 0).
  std::uint64_t numel() const;
};

/// The largest header the reader accepts (as the reference implementation).
inline constexpr std::uint64_t kSafetensorsMaxHeaderSize = 100'000'000;

/// A validated safetensors file: memory-mapped, owned bytes, or a borrowed view. Move-only.
class SafetensorsFile {
public:
  /// Maps `path` read-only and validates it. Errors start with path.string(). The file must
  /// not shrink while mapped (reading a truncated mapping raises SIGBUS).
  static SafetensorsFile open(const std::filesystem::path& path);
  /// Validates `bytes` (a whole file) and keeps them. Errors start with `name`.
  static SafetensorsFile parse(std::vector<std::uint8_t> bytes, std::string name);
  /// Validates `size` bytes at `data` without copying them: they must outlive the result.
  static SafetensorsFile parse_view(const std::uint8_t* data, std::size_t size, std::string name);

  /// Move-only: a moved file keeps its mapping and the spans into it valid.
  SafetensorsFile(SafetensorsFile&&) = default;
  SafetensorsFile& operator=(SafetensorsFile&&) = default;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile() = default;

  /// The name used in error messages (the path for open()).
  const std::string& name() const { return m_name; }
  /// All tensors, ordered by their offsets in the buffer.
  const std::vector<TensorInfo>& tensors() const { return m_tensors; }
  /// The tensor called `tensor_name`, or nullptr.
  const TensorInfo* find(std::string_view tensor_name) const;
  /// The bytes of `tensor` (one of tensors()). Not necessarily aligned: copy before casting.
  ByteSpan data(const TensorInfo& tensor) const;
  /// The "__metadata__" entries (empty when the header has none).
  const StMetadata& metadata() const { return m_metadata; }
  /// N, the header length in bytes (padding included).
  std::uint64_t header_size() const { return m_header_size; }
  /// The whole byte buffer that follows the header.
  ByteSpan buffer() const { return m_buffer; }

private:
  struct Unmapper {
    std::size_t size; // no initializer: keeps Unmapper default-constructible in-class
    void operator()(std::uint8_t* address) const;
  };

  SafetensorsFile() = default;
  void validate();

  std::string m_name;
  std::unique_ptr<std::uint8_t, Unmapper> m_mapping;
  std::vector<std::uint8_t> m_owned;
  ByteSpan m_file;
  ByteSpan m_buffer;
  std::uint64_t m_header_size = 0;
  std::vector<TensorInfo> m_tensors;
  std::map<std::string, std::size_t, std::less<>> m_index;
  StMetadata m_metadata;
};

/// A tensor to write: its bytes (little-endian, C order) must be product(shape) * dtype size.
struct TensorToWrite {
  std::string name;
  StDtype dtype = StDtype::u8;
  std::vector<std::uint64_t> shape;
  ByteSpan data;
};

/// Serialises tensors the way the reference writer does: sorted by descending dtype, then by
/// name; a compact JSON header ("__metadata__" first when not empty) padded with spaces to a
/// multiple of 8 bytes. Throws fibkit::Error for duplicate or invalid names and size mismatches.
std::vector<std::uint8_t> serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                                const StMetadata& metadata = {});

/// serialize_safetensors() written atomically to `path` (errors start with the path).
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const StMetadata& metadata = {});

} // namespace fibkit::util
