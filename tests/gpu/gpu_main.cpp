// Main of the GPU test binary: reports itself skipped (exit 77, CTest SKIP_RETURN_CODE) when no
// CUDA device is usable, instead of passing without running anything.
#define CATCH_CONFIG_RUNNER
#include "fibkit/cuda/driver.hpp"
#include "fibkit/util/error.hpp"

#include <catch2/catch.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  try {
    fibkit::cuda::Driver::get();
  } catch (const fibkit::NoDeviceError& e) {
    std::fprintf(stderr, "skipped: %s\n", e.what());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
