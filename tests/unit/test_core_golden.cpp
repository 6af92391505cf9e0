// Golden files produced by the official flashinfer-bench pydantic models
// (tools/goldens/gen_goldens.py): fibkit must write every `.golden` byte for byte and refuse every
// `.error` case.
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/core/trace/solution.hpp"
#include "fibkit/core/trace/trace.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

namespace fs = std::filesystem;
using namespace fibkit;

namespace {

// Cases where fibkit deliberately differs from the official models, with the reason.
const std::map<std::string, std::string> k_deviations{
    {"workload_scalar_overflow_inf",
     "1e400 is refused by fibkit's JSON parser; pydantic writes it as null, a file it cannot "
     "load back"},
};

std::string serialise(const std::string& model, const util::JsonValue& input) {
  util::JsonWriter out(model == "Solution" ? 2 : 0);
  if (model == "Solution") {
    core::write_solution(out, core::parse_solution(input));
  } else if (model == "Trace") {
    core::write_trace(out, core::parse_trace(input));
  } else if (model == "Workload") {
    core::write_workload(out, core::parse_workload(input));
  } else if (model == "Evaluation") {
    core::write_evaluation(out, core::parse_evaluation(input));
  } else if (model == "Definition") {
    core::write_definition(out, core::parse_definition(input));
  } else {
    FAIL("unknown model " << model);
  }
  return out.take();
}

} // namespace

TEST_CASE("official goldens: fibkit writes every golden byte for byte and refuses every error case",
          "[core][golden]") {
  const fs::path dir = FIBKIT_GOLDEN_DIR;
  std::size_t goldens = 0;
  std::size_t errors = 0;
  for (const auto& entry : fs::directory_iterator(dir / "cases")) {
    const std::string name = entry.path().stem().string();
    if (k_deviations.count(name)) {
      continue;
    }
    const std::string text = util::read_file(entry.path());
    // The generator feeds pydantic the raw text of "input" (numbers exactly as written), so
    // fibkit reads the same text: everything after `"input":` up to the closing brace.
    const auto model_pos = text.find("\"model\"");
    const auto input_pos = text.find("\"input\"");
    REQUIRE(model_pos != std::string::npos);
    REQUIRE(input_pos != std::string::npos);
    const auto model_start = text.find('"', text.find(':', model_pos) + 1) + 1;
    const std::string model = text.substr(model_start, text.find('"', model_start) - model_start);
    const auto input_start = text.find(':', input_pos) + 1;
    const std::string input_text = text.substr(input_start, text.rfind('}') - input_start);
    util::JsonParser input_parser;
    const fs::path golden = dir / "out" / (name + ".golden");
    const fs::path error = dir / "out" / (name + ".error");
    INFO("case " << name);
    if (fs::exists(golden)) {
      ++goldens;
      const util::JsonValue input = util::parse_json(input_parser, input_text, {name, 0});
      CHECK(serialise(model, input) == util::read_file(golden));
    } else {
      REQUIRE(fs::exists(error));
      ++errors;
      CHECK_THROWS_AS(serialise(model, util::parse_json(input_parser, input_text, {name, 0})),
                      Error);
    }
  }
  CHECK(goldens >= 50);
  CHECK(errors >= 50);
}
