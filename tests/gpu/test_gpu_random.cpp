// The random-input kernel on a real GPU: for every supported dtype, the device bytes equal
// fill_random_host()'s bytes exactly (the generator's math is bit-reproducible by design).
#include "fibkit/core/trace/dtype.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/engine/random.hpp"
#include "fibkit/util/error.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

using namespace fibkit;
using core::DType;

namespace {

/// Index of the first differing element, or n when none differs.
std::size_t first_difference(const std::vector<unsigned char>& a,
                             const std::vector<unsigned char>& b, std::size_t elem_bytes) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) {
      return i / elem_bytes;
    }
  }
  return a.size() / elem_bytes;
}

} // namespace

TEST_CASE("gpu: random inputs on the device equal the host's bytes for every dtype", "[gpu]") {
  cuda::Context ctx;
  const engine::RandomGenerator generator(ctx, cuda::detect_arch());
  // Sizes: not a multiple of 4 (the last Philox block is partial), and large enough for the
  // grid-stride loop to go round more than once.
  for (const std::size_t n : {std::size_t{1}, std::size_t{4099}, std::size_t{3} << 22}) {
    for (const DType dtype :
         {DType::float32, DType::float16, DType::bfloat16, DType::float8_e4m3fn, DType::float8_e5m2,
          DType::int64, DType::int32, DType::int16, DType::int8, DType::boolean}) {
      const std::size_t bytes = n * core::dtype_size(dtype);
      const std::uint64_t seed = 0x5eed0000ull + n;
      const std::uint64_t stream = engine::input_stream_id(n % 5, static_cast<int>(dtype));
      INFO(core::dtype_name(dtype) << ", n = " << n);
      // One byte more than needed, filled with a marker: the kernel must not write past n.
      cuda::DeviceBuffer buffer(bytes + 1);
      buffer.fill(0xA5, ctx.stream());
      generator.fill(buffer, n, dtype, seed, stream, ctx.stream());
      ctx.synchronize();
      std::vector<unsigned char> device(bytes + 1), host(bytes + 1, 0xA5);
      buffer.download(device.data(), bytes + 1);
      engine::fill_random_host(host.data(), n, dtype, seed, stream);
      const std::size_t diff = first_difference(device, host, core::dtype_size(dtype));
      INFO("first differing element: " << diff);
      CHECK(diff == (bytes + 1) / core::dtype_size(dtype));
      CHECK(device[bytes] == 0xA5);
    }
  }
}

TEST_CASE("gpu: the random fill refuses a buffer that is too small", "[gpu]") {
  cuda::Context ctx;
  const engine::RandomGenerator generator(ctx, cuda::detect_arch());
  cuda::DeviceBuffer buffer(16);
  CHECK_THROWS_AS(generator.fill(buffer, 5, DType::float32, 0, 0, ctx.stream()), Error);
  CHECK_NOTHROW(generator.fill(buffer, 4, DType::float32, 0, 0, ctx.stream()));
  CHECK_NOTHROW(generator.fill(buffer, 0, DType::float32, 0, 0, ctx.stream()));
  CHECK_THROWS_AS(generator.fill(buffer, 1, DType::float4_e2m1, 0, 0, ctx.stream()), Error);
  ctx.synchronize();
}

TEST_CASE("gpu: the packed indexer K cache on the device equals the host's bytes", "[gpu]") {
  cuda::Context ctx;
  const engine::RandomGenerator generator(ctx, cuda::detect_arch());
  // 300 pages of 64 tokens: more tokens than one grid pass covers on small GPUs is not needed;
  // the grid-stride loop is covered by the plain fill test.
  const std::int64_t pages = 300, page_size = 64, dim = 128;
  const std::size_t bytes = static_cast<std::size_t>(pages * page_size * (dim + 4));
  cuda::DeviceBuffer buffer(bytes + 1);
  buffer.fill(0xA5, ctx.stream());
  generator.fill_packed_k_cache(buffer, pages, page_size, dim, 7, 3, ctx.stream());
  ctx.synchronize();
  std::vector<unsigned char> device(bytes + 1), host(bytes + 1, 0xA5);
  buffer.download(device.data(), bytes + 1);
  engine::fill_packed_k_cache_host(host.data(), pages, page_size, dim, 7, 3);
  CHECK(first_difference(device, host, 1) == bytes + 1);
  CHECK_THROWS_AS(
      generator.fill_packed_k_cache(buffer, pages + 1, page_size, dim, 7, 3, ctx.stream()), Error);
}

TEST_CASE("gpu: the device checksum equals the host's and sees a one-byte change", "[gpu]") {
  cuda::Context ctx;
  const engine::RandomGenerator generator(ctx, cuda::detect_arch());
  for (const std::size_t n :
       {std::size_t{1}, std::size_t{13}, std::size_t{1} << 20, (std::size_t{5} << 20) + 3}) {
    INFO("n = " << n);
    cuda::DeviceBuffer buffer(n);
    generator.fill(buffer, n, DType::int8, 11, n, ctx.stream());
    ctx.synchronize();
    std::vector<unsigned char> host(n);
    buffer.download(host.data(), n);
    const std::uint64_t sum = generator.checksum(buffer, ctx);
    CHECK(sum == engine::checksum_host(host.data(), n));
    host[n / 2] ^= 0x10;
    buffer.upload(host.data(), n);
    CHECK(generator.checksum(buffer, ctx) != sum);
  }
}
