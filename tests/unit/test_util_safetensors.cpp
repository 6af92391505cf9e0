#include "fibkit/util/error.hpp"
#include "fibkit/util/safetensors.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

using namespace fibkit::util;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

using Bytes = std::vector<std::uint8_t>;

/// A file: the u64 length of `header`, `header`, then `buffer_size` bytes 0, 1, 2, ...
Bytes make_file(const std::string& header, std::size_t buffer_size = 0) {
  Bytes out;
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  }
  out.insert(out.end(), header.begin(), header.end());
  for (std::size_t i = 0; i < buffer_size; ++i) {
    out.push_back(static_cast<std::uint8_t>(i));
  }
  return out;
}

/// Bytes with an arbitrary u64 header length (not necessarily the header's size).
Bytes with_length(std::uint64_t n, const std::string& rest) {
  Bytes out;
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  }
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

SafetensorsFile parse(const Bytes& bytes) {
  return SafetensorsFile::parse(bytes, "x.safetensors");
}

Bytes pattern(std::size_t size, std::uint8_t seed) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) {
    out[i] = static_cast<std::uint8_t>(seed + 7 * i);
  }
  return out;
}

Bytes to_bytes(const ByteSpan& span) {
  return Bytes(span.data, span.data + span.size);
}

ByteSpan span_of(const Bytes& bytes) {
  return ByteSpan{bytes.data(), bytes.size()};
}

/// A fresh temporary directory, removed when the object dies.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("fibkit-st-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

const std::vector<StDtype> kAllDtypes = {
    StDtype::boolean, StDtype::u8,  StDtype::i8,  StDtype::f8_e5m2, StDtype::f8_e4m3,
    StDtype::i16,     StDtype::u16, StDtype::f16, StDtype::bf16,    StDtype::i32,
    StDtype::u32,     StDtype::f32, StDtype::f64, StDtype::i64,     StDtype::u64};

} // namespace

TEST_CASE("safetensors dtype names, sizes and definition mapping", "[util][safetensors]") {
  const std::vector<std::pair<std::string, std::size_t>> expected = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8}};
  REQUIRE(kAllDtypes.size() == expected.size());
  for (std::size_t i = 0; i < kAllDtypes.size(); ++i) {
    CHECK(st_dtype_name(kAllDtypes[i]) == expected[i].first);
    CHECK(st_dtype_size(kAllDtypes[i]) == expected[i].second);
    CHECK(st_dtype_from_name(expected[i].first) == kAllDtypes[i]);
  }
  CHECK_FALSE(st_dtype_from_name("F4"));
  CHECK_FALSE(st_dtype_from_name("f32"));
  CHECK_FALSE(st_dtype_from_name(""));

  CHECK(st_dtype_from_definition("float32") == StDtype::f32);
  CHECK(st_dtype_from_definition("float16") == StDtype::f16);
  CHECK(st_dtype_from_definition("bfloat16") == StDtype::bf16);
  CHECK(st_dtype_from_definition("float8_e4m3fn") == StDtype::f8_e4m3);
  CHECK(st_dtype_from_definition("float8_e5m2") == StDtype::f8_e5m2);
  CHECK(st_dtype_from_definition("int8") == StDtype::i8);
  CHECK(st_dtype_from_definition("int16") == StDtype::i16);
  CHECK(st_dtype_from_definition("int32") == StDtype::i32);
  CHECK(st_dtype_from_definition("int64") == StDtype::i64);
  CHECK(st_dtype_from_definition("bool") == StDtype::boolean);
  CHECK_FALSE(st_dtype_from_definition("float64"));
  CHECK_FALSE(st_dtype_from_definition("F32"));
}

TEST_CASE("safetensors round trip of every dtype, rank-0 and zero-size tensors and metadata",
          "[util][safetensors]") {
  std::vector<Bytes> storage;
  std::vector<TensorToWrite> tensors;
  storage.reserve(3 * kAllDtypes.size());
  for (std::size_t i = 0; i < kAllDtypes.size(); ++i) {
    const StDtype dtype = kAllDtypes[i];
    const std::string name(st_dtype_name(dtype));
    const std::size_t size = st_dtype_size(dtype);
    storage.push_back(pattern(2 * 3 * size, static_cast<std::uint8_t>(i)));
    tensors.push_back({"t." + name, dtype, {2, 3}, span_of(storage.back())});
    storage.push_back(pattern(size, static_cast<std::uint8_t>(100 + i)));
    tensors.push_back({"scalar." + name, dtype, {}, span_of(storage.back())});
    tensors.push_back({"empty." + name, dtype, {4, 0, 2}, ByteSpan{}});
  }
  const StMetadata metadata = {{"format", "pt"}, {"note", "h\xc3\xa9llo \"q\"\n"}, {"", ""}};

  const Bytes bytes = serialize_safetensors(tensors, metadata);
  const SafetensorsFile file = parse(bytes);
  CHECK(file.metadata() == metadata);
  CHECK(file.header_size() % 8 == 0);
  REQUIRE(file.tensors().size() == tensors.size());
  for (const TensorToWrite& want : tensors) {
    INFO(want.name);
    const TensorInfo* got = file.find(want.name);
    REQUIRE(got != nullptr);
    CHECK(got->name == want.name);
    CHECK(got->dtype == want.dtype);
    CHECK(got->shape == want.shape);
    CHECK(got->byte_size() == want.data.size);
    CHECK(to_bytes(file.data(*got)) == to_bytes(want.data));
    // The writer aligns every tensor to its element size (header padded to 8 bytes).
    CHECK(reinterpret_cast<std::uintptr_t>(file.data(*got).data) % st_dtype_size(got->dtype) == 0);
  }
  CHECK(file.find("scalar.F32")->numel() == 1);
  CHECK(file.find("empty.F32")->numel() == 0);
  CHECK(file.find("nope") == nullptr);
  // Tensors come back ordered by offsets and tile the buffer.
  std::uint64_t position = 0;
  for (const TensorInfo& info : file.tensors()) {
    CHECK(info.begin == position);
    position = info.end;
  }
  CHECK(position == file.buffer().size);

  // Serialising what was read gives the same bytes.
  std::vector<TensorToWrite> again;
  for (const TensorInfo& info : file.tensors()) {
    again.push_back({info.name, info.dtype, info.shape, file.data(info)});
  }
  CHECK(serialize_safetensors(again, file.metadata()) == bytes);
}

TEST_CASE("safetensors writer reproduces the reference bytes", "[util][safetensors]") {
  // safetensors/src/tensor.rs: test_serialization and test_empty.
  const float values[] = {0.0F, 1.0F, 2.0F, 3.0F, 4.0F, 5.0F};
  Bytes data(sizeof values);
  std::memcpy(data.data(), values, sizeof values);
  const Bytes out = serialize_safetensors({{"attn.0", StDtype::f32, {1, 2, 3}, span_of(data)}});
  const std::string header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  REQUIRE(header.size() == 64);
  Bytes expected = make_file(header);
  expected.insert(expected.end(), data.begin(), data.end());
  CHECK(out == expected);

  CHECK(serialize_safetensors({}) == make_file("{}      "));
  CHECK(serialize_safetensors({}, {{"framework", "pt"}}) ==
        make_file(R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' ')));
}

TEST_CASE("safetensors writer orders tensors by descending dtype, then by name",
          "[util][safetensors]") {
  const Bytes one(1, 1);
  const Bytes two(2, 2);
  const Bytes four(4, 4);
  const Bytes eight(8, 8);
  const Bytes out = serialize_safetensors({{"b", StDtype::u8, {1}, span_of(one)},
                                           {"a", StDtype::u8, {1}, span_of(one)},
                                           {"c", StDtype::f16, {1}, span_of(two)},
                                           {"d", StDtype::bf16, {1}, span_of(two)},
                                           {"e", StDtype::i64, {1}, span_of(eight)},
                                           {"f", StDtype::f32, {1}, span_of(four)}});
  const SafetensorsFile file = parse(out);
  std::vector<std::string> order;
  for (const TensorInfo& info : file.tensors()) {
    order.push_back(info.name);
  }
  CHECK(order == std::vector<std::string>{"e", "f", "d", "c", "a", "b"});
  const std::string header(reinterpret_cast<const char*>(out.data() + 8), file.header_size());
  CHECK_THAT(header, StartsWith(R"({"e":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"f":)"));
}

TEST_CASE("safetensors writer rejects inconsistent input", "[util][safetensors]") {
  const Bytes twelve(12, 0);
  REQUIRE_THROWS_WITH(
      serialize_safetensors({{"a", StDtype::f32, {2, 3}, span_of(twelve)}}),
      "safetensors writer: tensor \"a\": 12 bytes of data but shape [2, 3] of F32 needs 24");
  REQUIRE_THROWS_WITH(serialize_safetensors({{"a", StDtype::u8, {12}, span_of(twelve)},
                                             {"a", StDtype::u8, {12}, span_of(twelve)}}),
                      "safetensors writer: duplicate tensor name \"a\"");
  REQUIRE_THROWS_WITH(serialize_safetensors({{"__metadata__", StDtype::u8, {12}, span_of(twelve)}}),
                      "safetensors writer: the tensor name \"__metadata__\" is reserved");
  REQUIRE_THROWS_WITH(
      serialize_safetensors({{"a", StDtype::u8, {1ULL << 40, 1ULL << 40}, ByteSpan{}}}),
      "safetensors writer: tensor \"a\": the byte size of shape [1099511627776, 1099511627776] of "
      "U8 overflows 64 bits");
  REQUIRE_THROWS_WITH(serialize_safetensors({{"\xff", StDtype::u8, {0}, ByteSpan{}}}),
                      Contains("is not valid UTF-8"));
}

TEST_CASE("safetensors write_safetensors and open() with mmap", "[util][safetensors]") {
  TempDir dir;
  const std::filesystem::path path = dir.path / "sub" / "w.safetensors";
  const Bytes a = pattern(24, 3);
  const Bytes b = pattern(6, 9);
  write_safetensors(
      path, {{"a", StDtype::f32, {2, 3}, span_of(a)}, {"b", StDtype::bf16, {3}, span_of(b)}},
      {{"k", "v"}});
  REQUIRE(std::filesystem::exists(path));

  SafetensorsFile file = SafetensorsFile::open(path);
  CHECK(file.name() == path.string());
  CHECK(file.metadata() == StMetadata{{"k", "v"}});
  REQUIRE(file.tensors().size() == 2);
  CHECK(to_bytes(file.data(*file.find("a"))) == a);
  CHECK(to_bytes(file.data(*file.find("b"))) == b);
  CHECK(std::filesystem::file_size(path) == 8 + file.header_size() + 30);

  // Moving keeps the mapping (and the views into it) alive.
  SafetensorsFile moved = std::move(file);
  CHECK(to_bytes(moved.data(*moved.find("b"))) == b);
  SafetensorsFile other = SafetensorsFile::parse(make_file("{}      "), "other");
  other = std::move(moved);
  CHECK(to_bytes(other.data(*other.find("a"))) == a);
  CHECK(other.find("a")->shape == std::vector<std::uint64_t>{2, 3});
}

TEST_CASE("safetensors open() errors", "[util][safetensors]") {
  TempDir dir;
  const std::filesystem::path missing = dir.path / "missing.safetensors";
  REQUIRE_THROWS_WITH(SafetensorsFile::open(missing),
                      missing.string() + ": cannot open: No such file or directory");
  REQUIRE_THROWS_WITH(SafetensorsFile::open(dir.path),
                      dir.path.string() + ": is a directory, expected a file");
  const std::filesystem::path empty = dir.path / "empty.safetensors";
  std::ofstream(empty).close();
  REQUIRE_THROWS_WITH(SafetensorsFile::open(empty),
                      empty.string() + ": file is 0 bytes, too short for the 8-byte header length");
  // A malformed file on disk reports the same errors as in memory.
  const std::filesystem::path bad = dir.path / "bad.safetensors";
  {
    const Bytes bytes = make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4);
    std::ofstream out(bad, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  REQUIRE_THROWS_WITH(SafetensorsFile::open(bad),
                      bad.string() + ": tensor \"a\": data_offsets [0, 8] run past the end of "
                                     "the 4-byte buffer");
}

TEST_CASE("safetensors parse_view borrows the bytes; padding and key order",
          "[util][safetensors]") {
  // Entries in any order, extra spaces inside and after the JSON.
  const Bytes bytes = make_file(R"({"b": {"shape": [2], "dtype": "U8", "data_offsets": [4, 6]},)"
                                R"( "a":{"data_offsets":[0,4],"dtype":"I32","shape":[]}}    )",
                                6);
  const SafetensorsFile file = SafetensorsFile::parse_view(bytes.data(), bytes.size(), "v");
  REQUIRE(file.tensors().size() == 2);
  CHECK(file.tensors()[0].name == "a");
  CHECK(file.tensors()[1].name == "b");
  CHECK(file.data(file.tensors()[1]).data == bytes.data() + 8 + file.header_size() + 4);
  CHECK(file.metadata().empty());
  // "__metadata__": null means no metadata, as in the reference.
  CHECK(parse(make_file(R"({"__metadata__":null})")).metadata().empty());
  CHECK(parse(make_file("{}")).tensors().empty());
}

TEST_CASE("safetensors rejects files shorter than the header length", "[util][safetensors]") {
  REQUIRE_THROWS_WITH(parse(Bytes{}),
                      "x.safetensors: file is 0 bytes, too short for the 8-byte header length");
  REQUIRE_THROWS_WITH(parse(Bytes(5, 0)),
                      "x.safetensors: file is 5 bytes, too short for the 8-byte header length");
  REQUIRE_THROWS_AS(parse(Bytes(7, 0)), fibkit::Error);
}

TEST_CASE("safetensors rejects a header length beyond the file or the limit",
          "[util][safetensors]") {
  REQUIRE_THROWS_WITH(parse(with_length(10, "{}")),
                      "x.safetensors: header length 10 runs past the end of the 10-byte file");
  REQUIRE_THROWS_WITH(parse(with_length(1000000000, "{}")),
                      "x.safetensors: header length 1000000000 exceeds the 100000000-byte limit");
  REQUIRE_THROWS_WITH(parse(with_length(UINT64_MAX, "{}")),
                      "x.safetensors: header length 18446744073709551615 exceeds the "
                      "100000000-byte limit");
  // Exactly at the limit is allowed, so the file size decides.
  REQUIRE_THROWS_WITH(parse(with_length(100000000, "{}")),
                      "x.safetensors: header length 100000000 runs past the end of the "
                      "10-byte file");
}

TEST_CASE("safetensors header must be a UTF-8 JSON object starting with '{'",
          "[util][safetensors]") {
  REQUIRE_THROWS_WITH(parse(make_file("")),
                      "x.safetensors: header is empty, expected a JSON object");
  REQUIRE_THROWS_WITH(parse(make_file(" {}")),
                      "x.safetensors: header must begin with '{' (a JSON object), found byte 0x20");
  REQUIRE_THROWS_WITH(parse(make_file("[1, 2]")),
                      "x.safetensors: header must begin with '{' (a JSON object), found '['");
  REQUIRE_THROWS_WITH(parse(make_file("\"{}\"")),
                      "x.safetensors: header must begin with '{' (a JSON object), found '\"'");
  REQUIRE_THROWS_WITH(parse(make_file("{\"\xc3\x28\":1}")),
                      "x.safetensors: header is not valid UTF-8");
}

TEST_CASE("safetensors rejects invalid JSON headers", "[util][safetensors]") {
  REQUIRE_THROWS_WITH(parse(make_file("{\"a\":")),
                      StartsWith("x.safetensors: header: invalid JSON: "));
  REQUIRE_THROWS_WITH(parse(make_file("{} {}")),
                      StartsWith("x.safetensors: header: invalid JSON: "));
  // NUL padding is not JSON whitespace.
  REQUIRE_THROWS_WITH(parse(make_file(std::string("{}\0\0", 4))),
                      StartsWith("x.safetensors: header: invalid JSON: "));
  // Offsets too large for u64.
  REQUIRE_THROWS_WITH(
      parse(make_file(
          R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[0,99999999999999999999999]}})")),
      StartsWith("x.safetensors: header: "));
}

TEST_CASE("safetensors rejects malformed tensor entries", "[util][safetensors]") {
  const std::string p = "x.safetensors: header: tensor \"a\": ";
  REQUIRE_THROWS_WITH(parse(make_file(R"({"a":[1]})")),
                      p + "expected an object with dtype, shape and data_offsets, got an array");
  REQUIRE_THROWS_WITH(parse(make_file(R"({"a":{"dtype":"U8","shape":[1]}})", 1)),
                      p + "missing field \"data_offsets\"");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":0}})", 1)),
      p + "unknown field \"x\" (expected dtype, shape and data_offsets)");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"dtype":"U8"}})", 1)),
      p + "duplicate field \"dtype\"");
  REQUIRE_THROWS_WITH(parse(make_file(R"({"a":{"dtype":4,"shape":[1],"data_offsets":[0,1]}})", 1)),
                      p + "dtype must be a string, got an integer");
}

TEST_CASE("safetensors rejects unknown and sub-byte dtypes", "[util][safetensors]") {
  const std::string p = "x.safetensors: header: tensor \"a\": ";
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})", 16)),
      p + "unknown dtype \"F128\"");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", 4)),
      p + "unknown dtype \"f32\"");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}})", 1)),
      p + "sub-byte dtype \"F4\" is not supported");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]}})", 3)),
      p + "sub-byte dtype \"F6_E2M3\" is not supported");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})", 8)),
      p + "dtype \"C64\" is not supported");
}

TEST_CASE("safetensors rejects bad shapes", "[util][safetensors]") {
  const std::string p = "x.safetensors: header: tensor \"a\": ";
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"U8","shape":"2","data_offsets":[0,2]}})", 2)),
      p + "shape must be an array of non-negative integers, got a string");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"U8","shape":[2,"1"],"data_offsets":[0,2]}})", 2)),
      p + "shape[1] must be a non-negative integer, got \"1\"");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"U8","shape":[-2],"data_offsets":[0,2]}})", 2)),
      p + "shape[0] must be a non-negative integer, got -2");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"U8","shape":[2.0],"data_offsets":[0,2]}})", 2)),
      p + "shape[0] must be a non-negative integer, got 2.0");
}

TEST_CASE("safetensors rejects bad data_offsets", "[util][safetensors]") {
  const std::string p = "x.safetensors: header: tensor \"a\": ";
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[-1,1]}})", 2)),
      p + "data_offsets[0] must be a non-negative integer, got -1");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2.5]}})", 2)),
      p + "data_offsets[1] must be a non-negative integer, got 2.5");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2,4]}})", 2)),
      p + "data_offsets must be an array of 2 non-negative integers, got 3 items");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":{"0":0}}})", 2)),
      p + "data_offsets must be an array of 2 non-negative integers, got an object");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[16,8]}})", 16)),
      p + "data_offsets [16, 8] have begin after end");
}

TEST_CASE("safetensors rejects a size mismatch between offsets and shape", "[util][safetensors]") {
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,12]}})", 12)),
      "x.safetensors: header: tensor \"a\": data_offsets [0, 12] hold 12 bytes but shape [2, 3] "
      "of F32 needs 24");
  REQUIRE_THROWS_WITH(
      parse(make_file(R"({"a":{"dtype":"F64","shape":[],"data_offsets":[0,4]}})", 4)),
      "x.safetensors: header: tensor \"a\": data_offsets [0, 4] hold 4 bytes but shape [] of F64 "
      "needs 8");
}

TEST_CASE("safetensors rejects shapes whose size overflows 64 bits", "[util][safetensors]") {
  REQUIRE_THROWS_WITH(
      parse(make_file(
          R"({"a":{"dtype":"U8","shape":[1099511627776,1099511627776],"data_offsets":[0,0]}})")),
      "x.safetensors: header: tensor \"a\": the byte size of shape [1099511627776, "
      "1099511627776] of U8 overflows 64 bits");
  // The element count fits, the byte count does not.
  REQUIRE_THROWS_WITH(
      parse(
          make_file(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})")),
      Contains("of F64 overflows 64 bits"));
  // As in the reference, the product is folded left to right: a late 0 does not save it.
  REQUIRE_THROWS_WITH(
      parse(make_file(
          R"({"a":{"dtype":"U8","shape":[1099511627776,1099511627776,0],"data_offsets":[0,0]}})")),
      Contains("overflows 64 bits"));
  CHECK(
      parse(
          make_file(
              R"({"a":{"dtype":"U8","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}})"))
          .find("a")
          ->numel() == 0);
}

TEST_CASE("safetensors rejects holes, overlaps, trailing and missing bytes",
          "[util][safetensors]") {
  SECTION("hole") {
    REQUIRE_THROWS_WITH(
        parse(make_file(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"U8","shape":[8],"data_offsets":[16,24]}})",
                        24)),
        "x.safetensors: bytes [8, 16) of the buffer are not covered by any tensor (hole)");
  }
  SECTION("hole at the start") {
    REQUIRE_THROWS_WITH(
        parse(make_file(R"({"b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}})", 12)),
        "x.safetensors: bytes [0, 4) of the buffer are not covered by any tensor (hole)");
  }
  SECTION("overlap") {
    REQUIRE_THROWS_WITH(
        parse(make_file(R"({"b":{"dtype":"U8","shape":[16],"data_offsets":[8,24]},)"
                        R"("a":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}})",
                        24)),
        "x.safetensors: tensors \"a\" and \"b\" overlap (data_offsets [0, 16] and [8, 24])");
  }
  SECTION("same range twice") {
    REQUIRE_THROWS_WITH(parse(make_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                        R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                                        4)),
                        StartsWith("x.safetensors: tensors \"a\" and \"b\" overlap"));
  }
  SECTION("trailing bytes") {
    REQUIRE_THROWS_WITH(
        parse(make_file(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", 10)),
        "x.safetensors: bytes [8, 10) of the buffer are not covered by any tensor (trailing "
        "bytes after the last tensor)");
    REQUIRE_THROWS_WITH(parse(make_file("{}", 3)),
                        "x.safetensors: bytes [0, 3) of the buffer are not covered by any tensor "
                        "(trailing bytes after the last tensor)");
  }
  SECTION("truncated buffer") {
    REQUIRE_THROWS_WITH(
        parse(make_file(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", 7)),
        "x.safetensors: tensor \"a\": data_offsets [0, 8] run past the end of the 7-byte buffer");
  }
  SECTION("zero-size tensors may sit anywhere on the tiling") {
    const SafetensorsFile file =
        parse(make_file(R"({"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                        R"("a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                        R"("y":{"dtype":"F32","shape":[3,0],"data_offsets":[4,4]}})",
                        4));
    REQUIRE(file.tensors().size() == 3);
    CHECK(file.tensors()[0].name == "a");
    CHECK(file.find("z")->byte_size() == 0);
    CHECK(file.data(*file.find("y")).empty());
  }
}

TEST_CASE("safetensors rejects duplicate tensor names", "[util][safetensors]") {
  REQUIRE_THROWS_WITH(parse(make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                      R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                      2)),
                      "x.safetensors: header: duplicate tensor name \"a\"");
  REQUIRE_THROWS_WITH(parse(make_file(R"({"__metadata__":{},"__metadata__":{}})")),
                      "x.safetensors: header: duplicate \"__metadata__\"");
}

TEST_CASE("safetensors metadata must be an object of strings", "[util][safetensors]") {
  const std::string p = "x.safetensors: header: \"__metadata__\": ";
  REQUIRE_THROWS_WITH(parse(make_file(R"({"__metadata__":{"a":1}})")),
                      p + "key \"a\": value must be a string, got an integer");
  REQUIRE_THROWS_WITH(parse(make_file(R"({"__metadata__":{"a":"x","b":["y"]}})")),
                      p + "key \"b\": value must be a string, got an array");
  REQUIRE_THROWS_WITH(parse(make_file(R"({"__metadata__":{"a":null}})")),
                      p + "key \"a\": value must be a string, got null");
  REQUIRE_THROWS_WITH(parse(make_file(R"({"__metadata__":["a"]})")),
                      p + "must be an object of strings, got an array");
  REQUIRE_THROWS_WITH(parse(make_file(R"({"__metadata__":{"a":"x","a":"y"}})")),
                      p + "duplicate key \"a\"");
  const SafetensorsFile file = parse(make_file(R"({"__metadata__":{"a":"x","\u00e9":"\n"}})"));
  CHECK(file.metadata() == StMetadata{{"a", "x"}, {"\xc3\xa9", "\n"}});
}

TEST_CASE("safetensors malformed fixture files never crash the reader", "[util][safetensors]") {
  // Every prefix of a valid file, and every single-byte corruption of its header, either
  // parses or throws fibkit::Error.
  const Bytes a = pattern(24, 1);
  const Bytes b = pattern(2, 5);
  const Bytes good = serialize_safetensors(
      {{"a", StDtype::f32, {2, 3}, span_of(a)}, {"b", StDtype::bf16, {}, span_of(b)}},
      {{"k", "v"}});
  for (std::size_t size = 0; size < good.size(); ++size) {
    const Bytes prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(size));
    CHECK_THROWS_AS(parse(prefix), fibkit::Error);
  }
  const std::uint8_t replacements[] = {0, '{', '}', '"', '[', ']', ',', ':', '1', '-', ' ', 0xff};
  std::size_t parsed = 0;
  for (std::size_t i = 0; i < good.size() - 26; ++i) {
    for (std::uint8_t r : replacements) {
      Bytes bad = good;
      bad[i] = r;
      try {
        parse(bad);
        ++parsed;
      } catch (const fibkit::Error&) {
      }
    }
  }
  CHECK(parsed > 0); // e.g. replacing a space of the padding with a space
}
