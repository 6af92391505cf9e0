#include "fibkit/util/safetensors.hpp"

#include "json_dom.hpp"

#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/json_reader.hpp"
#include "fibkit/util/json_writer.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/mman.h>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <utility>

namespace fibkit::util {

namespace {

struct DtypeEntry {
  StDtype dtype;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<DtypeEntry, 15> kDtypes = {{
    {StDtype::boolean, "BOOL", 1},
    {StDtype::u8, "U8", 1},
    {StDtype::i8, "I8", 1},
    {StDtype::f8_e5m2, "F8_E5M2", 1},
    {StDtype::f8_e4m3, "F8_E4M3", 1},
    {StDtype::i16, "I16", 2},
    {StDtype::u16, "U16", 2},
    {StDtype::f16, "F16", 2},
    {StDtype::bf16, "BF16", 2},
    {StDtype::i32, "I32", 4},
    {StDtype::u32, "U32", 4},
    {StDtype::f32, "F32", 4},
    {StDtype::f64, "F64", 8},
    {StDtype::i64, "I64", 8},
    {StDtype::u64, "U64", 8},
}};

// Dtypes of newer safetensors versions that fibkit does not read.
constexpr std::array<std::string_view, 3> kSubByteDtypes = {"F4", "F6_E2M3", "F6_E3M2"};
constexpr std::array<std::string_view, 2> kUnsupportedDtypes = {"F8_E8M0", "C64"};

constexpr std::string_view kMetadataKey = "__metadata__";

/// The product of `shape` times `element_size`, folded left to right with overflow checks like
/// the reference (so [2^40, 2^40, 0] overflows although its product is 0); nullopt on overflow.
std::optional<std::uint64_t> checked_byte_size(const std::vector<std::uint64_t>& shape,
                                               std::uint64_t element_size) {
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t n = 1;
  for (std::uint64_t dim : shape) {
    if (dim != 0 && n > max / dim) {
      return std::nullopt;
    }
    n *= dim;
  }
  if (n > max / element_size) {
    return std::nullopt;
  }
  return n * element_size;
}

std::string format_shape(const std::vector<std::uint64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    out += i == 0 ? "" : ", ";
    out += std::to_string(shape[i]);
  }
  out += ']';
  return out;
}

std::string_view json_type_name(simdjson::dom::element element) {
  switch (element.type()) {
  case simdjson::dom::element_type::ARRAY:
    return "an array";
  case simdjson::dom::element_type::OBJECT:
    return "an object";
  case simdjson::dom::element_type::INT64:
  case simdjson::dom::element_type::UINT64:
    return "an integer";
  case simdjson::dom::element_type::DOUBLE:
    return "a number";
  case simdjson::dom::element_type::STRING:
    return "a string";
  case simdjson::dom::element_type::BOOL:
    return "a boolean";
  case simdjson::dom::element_type::NULL_VALUE:
    return "null";
  }
  return "an unknown value";
}

/// A short rendering of a JSON value for messages (truncated when long).
std::string render_value(simdjson::dom::element element) {
  std::string text = simdjson::minify(element);
  constexpr std::size_t limit = 40;
  if (text.size() > limit) {
    // Cut at a UTF-8 character boundary.
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    text.resize(cut);
    text += "...";
  }
  return text;
}

/// A JSON value that should be a u64; nullopt for anything else (negative, float, string...).
std::optional<std::uint64_t> as_u64(simdjson::dom::element element) {
  std::uint64_t value = 0;
  if (element.is_int64() || element.is_uint64()) {
    if (!element.get_uint64().get(value)) {
      return value;
    }
  }
  return std::nullopt;
}

std::uint64_t read_le64(const std::uint8_t* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) {
    value = (value << 8) | bytes[i];
  }
  return value;
}

void append_le64(std::vector<std::uint8_t>& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }
}

/// Why the first byte of a header is wrong, e.g. "'['" or "byte 0x0a".
std::string describe_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x21 && byte < 0x7f) {
    return fmt::format("'{}'", c);
  }
  return fmt::format("byte 0x{:02x}", byte);
}

[[noreturn]] void fail_at(const std::string& where, const std::string& what) {
  throw Error(fmt::format("{}: {}", where, what));
}

bool is_utf8(std::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

/// Parses one header entry `"name": {"dtype": ..., "shape": [...], "data_offsets": [b, e]}`.
/// `where` is the message prefix ("file: header: tensor \"name\"").
TensorInfo parse_tensor_entry(std::string_view name, simdjson::dom::element value,
                              const std::string& where) {
  simdjson::dom::object object;
  if (value.get_object().get(object)) {
    fail_at(where, fmt::format("expected an object with dtype, shape and data_offsets, got {}",
                               json_type_name(value)));
  }
  std::optional<simdjson::dom::element> dtype_value;
  std::optional<simdjson::dom::element> shape_value;
  std::optional<simdjson::dom::element> offsets_value;
  for (auto field : object) {
    std::optional<simdjson::dom::element>* slot = nullptr;
    if (field.key == "dtype") {
      slot = &dtype_value;
    } else if (field.key == "shape") {
      slot = &shape_value;
    } else if (field.key == "data_offsets") {
      slot = &offsets_value;
    } else {
      fail_at(where, fmt::format("unknown field {} (expected dtype, shape and data_offsets)",
                                 quote_json_string(field.key)));
    }
    if (slot->has_value()) {
      fail_at(where, fmt::format("duplicate field {}", quote_json_string(field.key)));
    }
    *slot = field.value;
  }
  if (!dtype_value) {
    fail_at(where, "missing field \"dtype\"");
  }
  if (!shape_value) {
    fail_at(where, "missing field \"shape\"");
  }
  if (!offsets_value) {
    fail_at(where, "missing field \"data_offsets\"");
  }

  TensorInfo info;
  info.name = std::string(name);

  std::string_view dtype_name;
  if (dtype_value->get_string().get(dtype_name)) {
    fail_at(where, fmt::format("dtype must be a string, got {}", json_type_name(*dtype_value)));
  }
  const std::optional<StDtype> dtype = st_dtype_from_name(dtype_name);
  if (!dtype) {
    const std::string quoted = quote_json_string(dtype_name);
    if (std::find(kSubByteDtypes.begin(), kSubByteDtypes.end(), dtype_name) !=
        kSubByteDtypes.end()) {
      fail_at(where, fmt::format("sub-byte dtype {} is not supported", quoted));
    }
    if (std::find(kUnsupportedDtypes.begin(), kUnsupportedDtypes.end(), dtype_name) !=
        kUnsupportedDtypes.end()) {
      fail_at(where, fmt::format("dtype {} is not supported", quoted));
    }
    fail_at(where, fmt::format("unknown dtype {}", quoted));
  }
  info.dtype = *dtype;

  simdjson::dom::array shape_array;
  if (shape_value->get_array().get(shape_array)) {
    fail_at(where, fmt::format("shape must be an array of non-negative integers, got {}",
                               json_type_name(*shape_value)));
  }
  for (simdjson::dom::element dim : shape_array) {
    const std::optional<std::uint64_t> n = as_u64(dim);
    if (!n) {
      fail_at(where, fmt::format("shape[{}] must be a non-negative integer, got {}",
                                 info.shape.size(), render_value(dim)));
    }
    info.shape.push_back(*n);
  }

  simdjson::dom::array offsets_array;
  if (offsets_value->get_array().get(offsets_array)) {
    fail_at(where, fmt::format("data_offsets must be an array of 2 non-negative integers, got {}",
                               json_type_name(*offsets_value)));
  }
  if (offsets_array.size() != 2) {
    fail_at(where,
            fmt::format("data_offsets must be an array of 2 non-negative integers, got {} items",
                        offsets_array.size()));
  }
  std::array<std::uint64_t, 2> offsets{};
  std::size_t index = 0;
  for (simdjson::dom::element item : offsets_array) {
    const std::optional<std::uint64_t> n = as_u64(item);
    if (!n) {
      fail_at(where, fmt::format("data_offsets[{}] must be a non-negative integer, got {}", index,
                                 render_value(item)));
    }
    offsets[index++] = *n;
  }
  info.begin = offsets[0];
  info.end = offsets[1];
  if (info.begin > info.end) {
    fail_at(where, fmt::format("data_offsets [{}, {}] have begin after end", info.begin, info.end));
  }

  const std::optional<std::uint64_t> needed =
      checked_byte_size(info.shape, st_dtype_size(info.dtype));
  if (!needed) {
    fail_at(where, fmt::format("the byte size of shape {} of {} overflows 64 bits",
                               format_shape(info.shape), st_dtype_name(info.dtype)));
  }
  if (info.byte_size() != *needed) {
    fail_at(where, fmt::format("data_offsets [{}, {}] hold {} bytes but shape {} of {} needs {}",
                               info.begin, info.end, info.byte_size(), format_shape(info.shape),
                               st_dtype_name(info.dtype), *needed));
  }
  return info;
}

/// Parses the "__metadata__" value (an object of strings, or null for none).
StMetadata parse_metadata(simdjson::dom::element value, const std::string& where) {
  StMetadata metadata;
  if (value.is_null()) {
    return metadata;
  }
  simdjson::dom::object object;
  if (value.get_object().get(object)) {
    throw Error(
        fmt::format("{}: must be an object of strings, got {}", where, json_type_name(value)));
  }
  for (auto field : object) {
    std::string_view text;
    if (field.value.get_string().get(text)) {
      throw Error(fmt::format("{}: key {}: value must be a string, got {}", where,
                              quote_json_string(field.key), json_type_name(field.value)));
    }
    if (!metadata.emplace(std::string(field.key), std::string(text)).second) {
      throw Error(fmt::format("{}: duplicate key {}", where, quote_json_string(field.key)));
    }
  }
  return metadata;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Dtypes

std::string_view st_dtype_name(StDtype dtype) {
  for (const DtypeEntry& entry : kDtypes) {
    if (entry.dtype == dtype) {
      return entry.name;
    }
  }
  return "?";
}

std::optional<StDtype> st_dtype_from_name(std::string_view name) {
  for (const DtypeEntry& entry : kDtypes) {
    if (entry.name == name) {
      return entry.dtype;
    }
  }
  return std::nullopt;
}

std::size_t st_dtype_size(StDtype dtype) {
  for (const DtypeEntry& entry : kDtypes) {
    if (entry.dtype == dtype) {
      return entry.size;
    }
  }
  return 1;
}

std::optional<StDtype> st_dtype_from_definition(std::string_view definition_dtype) {
  static constexpr std::array<std::pair<std::string_view, StDtype>, 10> table = {{
      {"float32", StDtype::f32},
      {"float16", StDtype::f16},
      {"bfloat16", StDtype::bf16},
      {"float8_e4m3fn", StDtype::f8_e4m3},
      {"float8_e5m2", StDtype::f8_e5m2},
      {"int8", StDtype::i8},
      {"int16", StDtype::i16},
      {"int32", StDtype::i32},
      {"int64", StDtype::i64},
      {"bool", StDtype::boolean},
  }};
  for (const auto& [name, dtype] : table) {
    if (name == definition_dtype) {
      return dtype;
    }
  }
  return std::nullopt;
}

std::uint64_t TensorInfo::numel() const {
  std::uint64_t n = 1;
  for (std::uint64_t dim : shape) {
    n *= dim;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Reading

void SafetensorsFile::Unmapper::operator()(std::uint8_t* address) const {
  if (address != nullptr) {
    ::munmap(address, size);
  }
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile file;
  file.m_name = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(fmt::format("{}: cannot open: {}", file.m_name, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error(fmt::format("{}: cannot stat: {}", file.m_name, std::strerror(err)));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(fmt::format("{}: is a directory, expected a file", file.m_name));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(fmt::format("{}: not a regular file", file.m_name));
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size > 0) { // mmap refuses empty mappings; validate() reports the empty file
    void* address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (address == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw Error(fmt::format("{}: cannot map into memory: {}", file.m_name, std::strerror(err)));
    }
    file.m_mapping = std::unique_ptr<std::uint8_t, Unmapper>(static_cast<std::uint8_t*>(address),
                                                             Unmapper{size});
    file.m_file = ByteSpan{file.m_mapping.get(), size};
  }
  ::close(fd);
  file.validate();
  return file;
}

SafetensorsFile SafetensorsFile::parse(std::vector<std::uint8_t> bytes, std::string name) {
  SafetensorsFile file;
  file.m_name = std::move(name);
  file.m_owned = std::move(bytes);
  file.m_file = ByteSpan{file.m_owned.data(), file.m_owned.size()};
  file.validate();
  return file;
}

SafetensorsFile SafetensorsFile::parse_view(const std::uint8_t* data, std::size_t size,
                                            std::string name) {
  SafetensorsFile file;
  file.m_name = std::move(name);
  file.m_file = ByteSpan{size == 0 ? nullptr : data, size};
  file.validate();
  return file;
}

void SafetensorsFile::validate() {
  const std::uint64_t size = m_file.size;
  if (size < 8) {
    throw Error(
        fmt::format("{}: file is {} bytes, too short for the 8-byte header length", m_name, size));
  }
  const std::uint64_t n = read_le64(m_file.data);
  if (n > kSafetensorsMaxHeaderSize) {
    throw Error(fmt::format("{}: header length {} exceeds the {}-byte limit", m_name, n,
                            kSafetensorsMaxHeaderSize));
  }
  if (n > size - 8) {
    throw Error(
        fmt::format("{}: header length {} runs past the end of the {}-byte file", m_name, n, size));
  }
  m_header_size = n;
  const std::string_view header(reinterpret_cast<const char*>(m_file.data + 8),
                                static_cast<std::size_t>(n));
  if (header.empty()) {
    throw Error(fmt::format("{}: header is empty, expected a JSON object", m_name));
  }
  if (!is_utf8(header)) {
    throw Error(fmt::format("{}: header is not valid UTF-8", m_name));
  }
  if (header.front() != '{') {
    throw Error(fmt::format("{}: header must begin with '{{' (a JSON object), found {}", m_name,
                            describe_byte(header.front())));
  }

  const std::string where = m_name + ": header";
  JsonParser parser;
  const JsonValue root = parse_json(parser, header, JsonOrigin{where, 0, false});
  const simdjson::dom::element root_element = JsonDom::element(root);
  simdjson::dom::object object;
  if (root_element.get_object().get(object)) {
    throw Error(
        fmt::format("{}: expected a JSON object, got {}", where, json_type_name(root_element)));
  }

  bool seen_metadata = false;
  for (auto field : object) {
    if (field.key == kMetadataKey) {
      if (seen_metadata) {
        throw Error(fmt::format("{}: duplicate \"__metadata__\"", where));
      }
      seen_metadata = true;
      m_metadata = parse_metadata(field.value, where + ": \"__metadata__\"");
      continue;
    }
    if (m_index.find(field.key) != m_index.end()) {
      throw Error(fmt::format("{}: duplicate tensor name {}", where, quote_json_string(field.key)));
    }
    m_index.emplace(std::string(field.key), m_tensors.size());
    m_tensors.push_back(parse_tensor_entry(
        field.key, field.value, fmt::format("{}: tensor {}", where, quote_json_string(field.key))));
  }

  // The tensors, sorted by offsets, must tile the buffer exactly.
  std::sort(m_tensors.begin(), m_tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  m_index.clear();
  for (std::size_t i = 0; i < m_tensors.size(); ++i) {
    m_index.emplace(m_tensors[i].name, i);
  }
  const std::uint64_t buffer_size = size - 8 - n;
  std::uint64_t position = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo& tensor : m_tensors) {
    if (tensor.begin > position) {
      throw Error(
          fmt::format("{}: bytes [{}, {}) of the buffer are not covered by any tensor (hole)",
                      m_name, position, tensor.begin));
    }
    if (tensor.begin < position) {
      throw Error(fmt::format("{}: tensors {} and {} overlap (data_offsets [{}, {}] and [{}, {}])",
                              m_name, quote_json_string(previous->name),
                              quote_json_string(tensor.name), previous->begin, previous->end,
                              tensor.begin, tensor.end));
    }
    if (tensor.end > buffer_size) {
      throw Error(fmt::format(
          "{}: tensor {}: data_offsets [{}, {}] run past the end of the {}-byte buffer", m_name,
          quote_json_string(tensor.name), tensor.begin, tensor.end, buffer_size));
    }
    position = tensor.end;
    previous = &tensor;
  }
  if (position != buffer_size) {
    throw Error(fmt::format("{}: bytes [{}, {}) of the buffer are not covered by any tensor "
                            "(trailing bytes after the last tensor)",
                            m_name, position, buffer_size));
  }
  m_buffer = ByteSpan{m_file.data + 8 + n, static_cast<std::size_t>(buffer_size)};
}

const TensorInfo* SafetensorsFile::find(std::string_view tensor_name) const {
  const auto it = m_index.find(tensor_name);
  return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

ByteSpan SafetensorsFile::data(const TensorInfo& tensor) const {
  return ByteSpan{m_buffer.data + tensor.begin, static_cast<std::size_t>(tensor.byte_size())};
}

// ---------------------------------------------------------------------------------------------
// Writing

namespace {

std::vector<std::uint8_t> serialize(const std::vector<TensorToWrite>& tensors,
                                    const StMetadata& metadata, const std::string& label) {
  std::map<std::string_view, const TensorToWrite*> by_name;
  for (const TensorToWrite& tensor : tensors) {
    const std::string quoted = quote_json_string(tensor.name);
    if (tensor.name == kMetadataKey) {
      throw Error(fmt::format("{}: the tensor name \"__metadata__\" is reserved", label));
    }
    if (!is_utf8(tensor.name)) {
      throw Error(fmt::format("{}: tensor name {} is not valid UTF-8", label, quoted));
    }
    if (!by_name.emplace(tensor.name, &tensor).second) {
      throw Error(fmt::format("{}: duplicate tensor name {}", label, quoted));
    }
    const std::optional<std::uint64_t> needed =
        checked_byte_size(tensor.shape, st_dtype_size(tensor.dtype));
    if (!needed) {
      throw Error(fmt::format("{}: tensor {}: the byte size of shape {} of {} overflows 64 bits",
                              label, quoted, format_shape(tensor.shape),
                              st_dtype_name(tensor.dtype)));
    }
    if (tensor.data.size != *needed || (tensor.data.data == nullptr && tensor.data.size > 0)) {
      throw Error(fmt::format("{}: tensor {}: {} bytes of data but shape {} of {} needs {}", label,
                              quoted, tensor.data.size, format_shape(tensor.shape),
                              st_dtype_name(tensor.dtype), *needed));
    }
  }
  for (const auto& [key, value] : metadata) {
    if (!is_utf8(key) || !is_utf8(value)) {
      throw Error(fmt::format("{}: \"__metadata__\" entry {} is not valid UTF-8", label,
                              quote_json_string(key)));
    }
  }

  // The reference order: descending dtype (alignment), then name.
  std::vector<const TensorToWrite*> order;
  order.reserve(tensors.size());
  for (const TensorToWrite& tensor : tensors) {
    order.push_back(&tensor);
  }
  std::sort(order.begin(), order.end(), [](const TensorToWrite* a, const TensorToWrite* b) {
    if (a->dtype != b->dtype) {
      return a->dtype > b->dtype;
    }
    return a->name < b->name;
  });

  JsonWriter json;
  json.begin_object();
  if (!metadata.empty()) {
    json.key(kMetadataKey).begin_object();
    for (const auto& [key, value] : metadata) {
      json.key(key).value(value);
    }
    json.end_object();
  }
  std::uint64_t offset = 0;
  for (const TensorToWrite* tensor : order) {
    json.key(tensor->name).begin_object();
    json.key("dtype").value(st_dtype_name(tensor->dtype));
    json.key("shape").begin_array();
    for (std::uint64_t dim : tensor->shape) {
      json.value(dim);
    }
    json.end_array();
    const std::uint64_t end = offset + tensor->data.size;
    if (end < offset) {
      throw Error(fmt::format("{}: the tensors hold more than 2^64 bytes", label));
    }
    json.key("data_offsets").begin_array().value(offset).value(end).end_array();
    json.end_object();
    offset = end;
  }
  json.end_object();
  std::string header = json.take();
  header.append((8 - header.size() % 8) % 8, ' ');
  if (header.size() > kSafetensorsMaxHeaderSize) {
    throw Error(fmt::format("{}: header length {} exceeds the {}-byte limit", label, header.size(),
                            kSafetensorsMaxHeaderSize));
  }

  std::vector<std::uint8_t> out;
  out.reserve(8 + header.size() + static_cast<std::size_t>(offset));
  append_le64(out, header.size());
  out.insert(out.end(), header.begin(), header.end());
  for (const TensorToWrite* tensor : order) {
    if (tensor->data.size > 0) {
      out.insert(out.end(), tensor->data.data, tensor->data.data + tensor->data.size);
    }
  }
  return out;
}

} // namespace

std::vector<std::uint8_t> serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                                const StMetadata& metadata) {
  return serialize(tensors, metadata, "safetensors writer");
}

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const StMetadata& metadata) {
  const std::vector<std::uint8_t> bytes = serialize(tensors, metadata, path.string());
  write_file_atomic(path,
                    std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

} // namespace fibkit::util
