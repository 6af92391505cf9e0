// libFuzzer target for the safetensors reader and writer.
// Any input must either be rejected with fibkit::Error or parse into a file whose tensors all
// lie inside the input; a parsed file must survive a writer round trip unchanged.
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
//     fuzz/fuzz_safetensors.cpp src/util/{safetensors,json_reader,json_writer,file}.cpp \
//     -lsimdjson -lfmt -o fuzz_safetensors && ./fuzz_safetensors -max_total_time=60
#include "fibkit/util/error.hpp"
#include "fibkit/util/safetensors.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

using fibkit::util::ByteSpan;
using fibkit::util::SafetensorsFile;
using fibkit::util::TensorInfo;
using fibkit::util::TensorToWrite;

namespace {

volatile unsigned g_sink = 0;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_safetensors: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) {
    fail(what);
  }
}

bool same_bytes(ByteSpan a, ByteSpan b) {
  if (a.size != b.size) {
    return false;
  }
  for (std::size_t i = 0; i < a.size; ++i) {
    if (a.data[i] != b.data[i]) {
      return false;
    }
  }
  return true;
}

/// The writer's output for `file` parses back to the same tensors and metadata.
void check_round_trip(const SafetensorsFile& file) {
  std::vector<TensorToWrite> tensors;
  for (const TensorInfo& info : file.tensors()) {
    tensors.push_back({info.name, info.dtype, info.shape, file.data(info)});
  }
  std::vector<std::uint8_t> bytes;
  try {
    bytes = fibkit::util::serialize_safetensors(tensors, file.metadata());
  } catch (const fibkit::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    fail("the writer rejected a file the reader accepted");
  }
  std::optional<SafetensorsFile> again;
  try {
    again.emplace(SafetensorsFile::parse(bytes, "round trip"));
  } catch (const fibkit::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    fail("the reader rejected the writer's output");
  }
  check(again->metadata() == file.metadata(), "metadata changed in the round trip");
  check(again->tensors().size() == file.tensors().size(), "tensor count changed");
  check(again->header_size() % 8 == 0, "the writer did not pad the header to 8 bytes");
  for (const TensorInfo& info : file.tensors()) {
    const TensorInfo* other = again->find(info.name);
    check(other != nullptr, "a tensor went missing in the round trip");
    check(other->dtype == info.dtype && other->shape == info.shape, "a tensor changed");
    check(same_bytes(again->data(*other), file.data(info)), "tensor bytes changed");
  }
  // The writer's output is a fixed point.
  std::vector<TensorToWrite> tensors2;
  for (const TensorInfo& info : again->tensors()) {
    tensors2.push_back({info.name, info.dtype, info.shape, again->data(info)});
  }
  check(fibkit::util::serialize_safetensors(tensors2, again->metadata()) == bytes,
        "serialising twice gave different bytes");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::optional<SafetensorsFile> file;
  try {
    file.emplace(SafetensorsFile::parse_view(data, size, "fuzz.safetensors"));
  } catch (const fibkit::Error&) {
    return 0;
  }
  // Every tensor lies inside the input and the tensors tile the buffer.
  const ByteSpan buffer = file->buffer();
  check(buffer.data >= data && buffer.data + buffer.size == data + size, "buffer outside input");
  std::uint64_t position = 0;
  unsigned checksum = 0;
  for (const TensorInfo& info : file->tensors()) {
    check(info.begin == position && info.end >= info.begin, "tensors do not tile the buffer");
    position = info.end;
    check(file->find(info.name) == &info, "find() does not return the tensor");
    const ByteSpan bytes = file->data(info);
    check(bytes.size == info.numel() * fibkit::util::st_dtype_size(info.dtype), "size mismatch");
    for (std::size_t i = 0; i < bytes.size; ++i) {
      checksum += bytes.data[i]; // reads every byte, so ASan sees any out-of-bounds view
    }
  }
  check(position == buffer.size, "the tensors do not cover the buffer");
  check_round_trip(*file);
  g_sink = checksum;
  return 0;
}
