// libFuzzer target: config.toml parsing (TOML syntax, schema, expressions) on arbitrary bytes.
// Any input must either load or raise fibkit::Error, never crash.
#include "fibkit/core/project/config.hpp"
#include "fibkit/util/error.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    fibkit::core::parse_config(text, "config.toml", "/nonexistent");
  } catch (const fibkit::Error&) {
  }
  return 0;
}
