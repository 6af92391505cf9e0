// libFuzzer target: parse and evaluate arbitrary text as an expression with a few fixed names.
// Any fibkit::core::ExprError is fine; a crash, a sanitizer report, another exception or a
// broken invariant (checked below) is a bug.
//
//   clang++-14 -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
//       src/core/project/expr.cpp fuzz/fuzz_expr.cpp -o fuzz_expr && ./fuzz_expr -max_total_time=60
#include "fibkit/core/project/expr.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

namespace {

void check(bool condition) {
  if (!condition)
    std::abort();
}

const fibkit::core::Env& fuzz_env() {
  static const fibkit::core::Env env{
      {"num_tokens", 7},
      {"num_sms", 132},
      {"zero", 0},
      {"neg", -1},
      {"big", std::numeric_limits<std::int64_t>::max()},
      {"small", std::numeric_limits<std::int64_t>::min()},
  };
  return env;
}

/// Every message names the expression and a column inside (or just past) it.
void check_error(const fibkit::core::ExprError& e, std::string_view text) {
  check(e.text() == text);
  check(e.column() >= 1 && static_cast<std::size_t>(e.column()) <= text.size() + 1);
  check(!e.reason().empty());
  check(std::string_view(e.what()).find(": column ") != std::string_view::npos);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const fibkit::core::Env& env = fuzz_env();
  fibkit::core::Expr expr;
  try {
    expr = fibkit::core::Expr::parse(text, "fuzz");
  } catch (const fibkit::core::ExprError& e) {
    check_error(e, text);
    return 0;
  }
  check(expr.text() == text);
  for (const std::string& name : expr.names())
    check(fibkit::core::is_valid_name(name));

  bool names_ok = true;
  try {
    expr.check_names(env);
  } catch (const fibkit::core::ExprError& e) {
    check_error(e, text);
    names_ok = false;
  }

  // Evaluation is deterministic: two runs give the same value or the same message.
  std::string first;
  std::string second;
  std::int64_t value = 0;
  try {
    value = expr.eval(env);
    first = std::to_string(value);
  } catch (const fibkit::core::ExprError& e) {
    check_error(e, text);
    first = std::string("error: ") + e.what();
  }
  try {
    second = std::to_string(expr.eval(env));
  } catch (const fibkit::core::ExprError& e) {
    second = std::string("error: ") + e.what();
  }
  check(first == second);
  // A successful evaluation means every name was defined.
  check(names_ok || first.rfind("error: ", 0) == 0);

  // A copy shares the tree and evaluates the same.
  const fibkit::core::Expr copy = expr;
  try {
    check(std::to_string(copy.eval(env)) == first);
  } catch (const fibkit::core::ExprError& e) {
    check(std::string("error: ") + e.what() == first);
  }
  // A literal's value is what it evaluates to.
  if (const auto literal = expr.literal_value())
    check(first == std::to_string(*literal));
  return 0;
}
