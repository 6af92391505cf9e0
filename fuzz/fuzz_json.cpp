// libFuzzer target: the FlashInfer-Trace JSON readers (definitions, solutions, trace lines) on
// arbitrary bytes. Any input must either load or raise fibkit::Error; what loads must write and
// load back to the same text.
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/core/trace/solution.hpp"
#include "fibkit/core/trace/trace_set.hpp"
#include "fibkit/util/error.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace fibkit;

namespace {
template <typename Parse, typename Write>
void round_trip(std::string_view text, Parse parse, Write write) {
  fibkit::util::JsonParser parser;
  std::string first;
  try {
    first = write(parse(util::parse_json(parser, text, {"fuzz", 0})));
  } catch (const Error&) {
    return;
  }
  fibkit::util::JsonParser again;
  const std::string second = write(parse(util::parse_json(again, first, {"fuzz", 0})));
  if (first != second) {
    std::abort();
  }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  round_trip(text, core::parse_definition, [](const core::Definition& d) {
    util::JsonWriter out;
    core::write_definition(out, d);
    return out.take();
  });
  round_trip(text, core::parse_solution,
             [](const core::Solution& s) { return core::solution_to_json(s); });
  round_trip(text, core::parse_trace,
             [](const core::Trace& t) { return core::trace_to_json_line(t); });
  try {
    core::parse_trace_lines(text, "fuzz.jsonl", true);
  } catch (const Error&) {
  }
  return 0;
}
