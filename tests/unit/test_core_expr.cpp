// Tests for the integer expression language (include/fibkit/core/project/expr.hpp), including every
// example in docs/expressions.md.
#include "fibkit/core/project/expr.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

using fibkit::core::Env;
using fibkit::core::eval_expr;
using fibkit::core::Expr;
using fibkit::core::ExprError;

namespace {

constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t k_min = std::numeric_limits<std::int64_t>::min();

/// The message of the error that parsing + evaluating `text` throws, or "no error".
std::string error_of(const std::string& text, const Env& env = {}) {
  try {
    (void)eval_expr(text, env);
  } catch (const ExprError& e) {
    return e.what();
  }
  return "no error";
}

std::int64_t ev(const std::string& text, const Env& env = {}) {
  return eval_expr(text, env);
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos)
    return "";
  const auto end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

/// A table cell without its surrounding spaces and backticks.
std::string cell_text(const std::string& cell) {
  std::string s = trim(cell);
  if (s.size() >= 2 && s.front() == '`' && s.back() == '`')
    s = s.substr(1, s.size() - 2);
  return s;
}

std::vector<std::string> split_row(const std::string& line) {
  std::vector<std::string> cells;
  std::string inner = trim(line);
  if (inner.size() < 2 || inner.front() != '|' || inner.back() != '|')
    return cells;
  inner = inner.substr(1, inner.size() - 2);
  std::stringstream stream(inner);
  std::string cell;
  while (std::getline(stream, cell, '|'))
    cells.push_back(cell_text(cell));
  if (!inner.empty() && inner.back() == '|')
    cells.emplace_back();
  return cells;
}

/// `num_tokens=7, num_sms=132` -> Env.
Env parse_with(const std::string& with) {
  Env env;
  std::stringstream stream(with);
  std::string item;
  while (std::getline(stream, item, ',')) {
    item = trim(item);
    if (item.empty())
      continue;
    const auto eq = item.find('=');
    REQUIRE(eq != std::string::npos);
    env.set(trim(item.substr(0, eq)), std::stoll(trim(item.substr(eq + 1))));
  }
  return env;
}

} // namespace

TEST_CASE("literals and names", "[core][expr]") {
  CHECK(ev("0") == 0);
  CHECK(ev("128") == 128);
  CHECK(ev("007") == 7);
  CHECK(ev("1_048_576") == 1048576);
  CHECK(ev("9223372036854775807") == k_max);
  CHECK(ev("-9223372036854775808") == k_min);
  CHECK(ev("- 9223372036854775808") == k_min);
  const Env env{{"num_tokens", 7}, {"num_sms", 132}, {"_x1", -3}};
  CHECK(ev("num_tokens", env) == 7);
  CHECK(ev("num_sms", env) == 132);
  CHECK(ev("_x1", env) == -3);
}

TEST_CASE("precedence", "[core][expr]") {
  CHECK(ev("2 + 3 * 4") == 14);
  CHECK(ev("2 * 3 + 4") == 10);
  CHECK(ev("20 - 6 / 2") == 17);
  CHECK(ev("1 + 10 % 4") == 3);
  CHECK(ev("-2 * 3") == -6);
  CHECK(ev("2 * -3") == -6);
  CHECK(ev("-2 + 5") == 3);
  CHECK(ev("-(2 + 5)") == -7);
  const Env env{{"n", 10}};
  CHECK(ev("-n * 2 + 1", env) == -19);
  CHECK(ev("10 - -n", env) == 20);
}

TEST_CASE("associativity is left to right", "[core][expr]") {
  const Env env{{"a", 24}, {"b", 4}, {"c", 3}};
  CHECK(ev("a - b - c", env) == 17);
  CHECK(ev("a / b * c", env) == 18);
  CHECK(ev("a / b / c", env) == 2);
  CHECK(ev("a % 7 * c", env) == 9);
  CHECK(ev("a * b % 5", env) == 1);
  CHECK(ev("a - b + c", env) == 23);
  CHECK(ev("a / (b * c)", env) == 2);
  CHECK(ev("a - (b - c)", env) == 23);
}

TEST_CASE("unary minus and plus", "[core][expr]") {
  const Env env{{"n", 5}};
  CHECK(ev("-n", env) == -5);
  CHECK(ev("- -n", env) == 5);
  CHECK(ev("--n", env) == 5);
  CHECK(ev("---5") == -5);
  CHECK(ev("+n", env) == 5);
  CHECK(ev("+-+n", env) == -5);
  CHECK(ev("-(-(n))", env) == 5);
  CHECK(ev("-0") == 0);
  CHECK(ev("3--2") == 5);
}

TEST_CASE("parentheses", "[core][expr]") {
  CHECK(ev("(2 + 3) * 4") == 20);
  CHECK(ev("((((7))))") == 7);
  CHECK(ev("2 * (3 + (4 - 1) * 2)") == 18);
  CHECK(ev("(1)+(2)") == 3);
}

TEST_CASE("division and modulo round towards negative infinity", "[core][expr]") {
  CHECK(ev("7 / 2") == 3);
  CHECK(ev("-7 / 2") == -4);
  CHECK(ev("7 / -2") == -4);
  CHECK(ev("-7 / -2") == 3);
  CHECK(ev("-8 / 2") == -4);
  CHECK(ev("7 % 3") == 1);
  CHECK(ev("-7 % 3") == 2);
  CHECK(ev("7 % -3") == -2);
  CHECK(ev("-7 % -3") == -1);
  CHECK(ev("-9 % 3") == 0);
  CHECK(ev("-9223372036854775808 % -1") == 0);
  CHECK(ev("-9223372036854775808 / 1") == k_min);
  CHECK(ev("-9223372036854775808 % 10") == 2);
  for (std::int64_t a = -20; a <= 20; ++a) {
    for (std::int64_t b = -6; b <= 6; ++b) {
      if (b == 0)
        continue;
      const Env env{{"a", a}, {"b", b}};
      const std::int64_t q = ev("a / b", env);
      const std::int64_t r = ev("a % b", env);
      INFO("a=" << a << " b=" << b);
      CHECK(q * b + r == a);
      CHECK((b > 0 ? (r >= 0 && r < b) : (r <= 0 && r > b)));
    }
  }
}

TEST_CASE("ceil_div", "[core][expr]") {
  CHECK(ev("ceil_div(7, 4)") == 2);
  CHECK(ev("ceil_div(8, 4)") == 2);
  CHECK(ev("ceil_div(0, 4)") == 0);
  CHECK(ev("ceil_div(1, 128)") == 1);
  CHECK(ev("ceil_div(-7, 2)") == -3);
  CHECK(ev("ceil_div(7, -2)") == -3);
  CHECK(ev("ceil_div(-7, -2)") == 4);
  CHECK(ev("ceil_div(9223372036854775807, 2)") == 4611686018427387904);
  CHECK(ev("ceil_div(-9223372036854775808, 2)") == -4611686018427387904);
  CHECK(ev("ceil_div(-9223372036854775808, 1)") == k_min);
  for (std::int64_t a = -20; a <= 20; ++a) {
    for (std::int64_t b = -6; b <= 6; ++b) {
      if (b == 0)
        continue;
      const Env env{{"a", a}, {"b", b}};
      const std::int64_t c = ev("ceil_div(a, b)", env);
      INFO("a=" << a << " b=" << b);
      // c is the smallest integer with c >= a / b (exactly): c * b >= a for b > 0.
      CHECK(c == -ev("(-a) / b", env));
    }
  }
}

TEST_CASE("round_up, min and max", "[core][expr]") {
  CHECK(ev("round_up(100, 64)") == 128);
  CHECK(ev("round_up(128, 64)") == 128);
  CHECK(ev("round_up(0, 64)") == 0);
  CHECK(ev("round_up(-100, 64)") == -64);
  CHECK(ev("round_up(1, 1)") == 1);
  CHECK(ev("min(3, 2)") == 2);
  CHECK(ev("max(3, 2)") == 3);
  CHECK(ev("min(8, 3, 5, 9)") == 3);
  CHECK(ev("max(8, 3, 5, 9)") == 9);
  CHECK(ev("min(-9223372036854775808, 9223372036854775807)") == k_min);
  CHECK(ev("max(-1, -2, -3)") == -1);
  const Env env{{"num_tokens", 1000}, {"num_sms", 132}};
  CHECK(ev("min(ceil_div(num_tokens, 64), num_sms * 2)", env) == 16);
  CHECK(ev("max(1, min(num_tokens, 4096) / 64)", env) == 15);
  CHECK(ev("round_up(ceil_div(num_tokens, 3), max(8, 16))", env) == 336);
}

TEST_CASE("function names are names unless called", "[core][expr]") {
  const Env env{{"min", 4}, {"max", 9}};
  CHECK(ev("min + max", env) == 13);
  CHECK(ev("min(min, max)", env) == 4);
  CHECK(ev("max (min, max)", env) == 9);
}

TEST_CASE("whitespace is ignored between tokens", "[core][expr]") {
  const Env env{{"n", 10}};
  CHECK(ev("n*2+1", env) == 21);
  CHECK(ev("  n * 2 + 1  ", env) == 21);
  CHECK(ev("\tceil_div(\n  n,\r\n  4\n)\n", env) == 3);
  CHECK(ev("min ( n , 3 )", env) == 3);
  CHECK(
      error_of("n 2", env) ==
      "\"n 2\": column 3: unexpected number 2: expected an operator or the end of the expression");
  CHECK(
      error_of("1 0") ==
      "\"1 0\": column 3: unexpected number 0: expected an operator or the end of the expression");
}

TEST_CASE("names() lists the free names in order of first appearance", "[core][expr]") {
  const Expr e = Expr::parse("ceil_div(num_tokens, page) * num_sms + num_tokens - max(page, 1)");
  CHECK(e.names() == std::vector<std::string>{"num_tokens", "page", "num_sms"});
  CHECK(Expr::parse("ceil_div(4, 2) + min(1, 2)").names().empty());
  CHECK(Expr::parse("-x").names() == std::vector<std::string>{"x"});
  CHECK(Expr::constant(5).names().empty());
}

TEST_CASE("check_names reports the first undefined name", "[core][expr]") {
  const Expr e = Expr::parse("a + ceil_div(b, c) + d");
  CHECK_NOTHROW(e.check_names(Env{{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}}));
  try {
    e.check_names(Env{{"a", 1}, {"c", 1}});
    FAIL("expected an error");
  } catch (const ExprError& err) {
    CHECK(std::string(err.what()) ==
          "\"a + ceil_div(b, c) + d\": column 14: unknown name \"b\" (known names: a, c)");
    CHECK(err.column() == 14);
  }
  // eval() may stop at another error first; check_names() only looks at names.
  CHECK(error_of("1 / 0 + x") == "\"1 / 0 + x\": column 3: division by zero");
}

TEST_CASE("unknown names list the known names and suggest the closest", "[core][expr]") {
  const Env env{{"num_tokens", 7}, {"num_sms", 132}};
  CHECK(error_of("num_tokns * 2", env) ==
        "\"num_tokns * 2\": column 1: unknown name \"num_tokns\" \xE2\x80\x94 did you mean "
        "\"num_tokens\"? (known names: num_sms, num_tokens)");
  CHECK(error_of("2 * num_tokesn", env) ==
        "\"2 * num_tokesn\": column 5: unknown name \"num_tokesn\" \xE2\x80\x94 did you mean "
        "\"num_tokens\"? (known names: num_sms, num_tokens)");
  CHECK(error_of("num_sm", env) == "\"num_sm\": column 1: unknown name \"num_sm\" \xE2\x80\x94 did "
                                   "you mean \"num_sms\"? (known names: num_sms, num_tokens)");
  CHECK(error_of("batch", env) ==
        "\"batch\": column 1: unknown name \"batch\" (known names: num_sms, num_tokens)");
  CHECK(error_of("Num_Tokens", env) == "\"Num_Tokens\": column 1: unknown name \"Num_Tokens\" "
                                       "\xE2\x80\x94 did you mean \"num_tokens\"? (known names: "
                                       "num_sms, num_tokens)");
  CHECK(error_of("x + 1") == "\"x + 1\": column 1: unknown name \"x\" (no names are defined here)");
  // A one-character name is no typo of another one ("n" is not "m").
  CHECK(error_of("n", Env{{"m", 1}}) == "\"n\": column 1: unknown name \"n\" (known names: m)");
  // Ties go to the first known name in sorted order.
  CHECK(error_of("ab", Env{{"ax", 1}, {"ay", 2}}) ==
        "\"ab\": column 1: unknown name \"ab\" \xE2\x80\x94 did you mean \"ax\"? (known names: "
        "ax, ay)");
}

TEST_CASE("unknown functions and wrong argument counts", "[core][expr]") {
  const Env env{{"n", 10}};
  CHECK(error_of("ceil(n, 4)", env) == "\"ceil(n, 4)\": column 1: unknown function \"ceil\" "
                                       "(known functions: ceil_div, max, min, round_up)");
  CHECK(error_of("1 + cel_div(n, 4)", env) ==
        "\"1 + cel_div(n, 4)\": column 5: unknown function \"cel_div\" \xE2\x80\x94 did you mean "
        "\"ceil_div\"? (known functions: ceil_div, max, min, round_up)");
  CHECK(error_of("n(1)", env) == "\"n(1)\": column 1: unknown function \"n\" (known functions: "
                                 "ceil_div, max, min, round_up)");
  CHECK(error_of("ceil_div(n)", env) ==
        "\"ceil_div(n)\": column 1: ceil_div expects 2 arguments, got 1");
  CHECK(error_of("ceil_div(n, 2, 3)", env) ==
        "\"ceil_div(n, 2, 3)\": column 1: ceil_div expects 2 arguments, got 3");
  CHECK(error_of("round_up()", env) == "\"round_up()\": column 1: round_up expects 2 arguments, "
                                       "got 0");
  CHECK(error_of("2 * min(n)", env) ==
        "\"2 * min(n)\": column 5: min expects at least 2 arguments, got 1");
  CHECK(error_of("max()", env) == "\"max()\": column 1: max expects at least 2 arguments, got 0");
  CHECK(error_of("min(1,)", env) ==
        "\"min(1,)\": column 7: expected a number, a name or '(', found ')'");
  CHECK(error_of("min(1 2)", env) ==
        "\"min(1 2)\": column 7: expected ',' or ')' in the arguments of min, found number 2");
  CHECK(error_of("min(1, 2", env) ==
        "\"min(1, 2\": column 9: expected ',' or ')' in the arguments of min, found end of input");
}

TEST_CASE("division, modulo, ceil_div and round_up by zero", "[core][expr]") {
  const Env env{{"n", 10}, {"z", 0}};
  CHECK(error_of("n / 0", env) == "\"n / 0\": column 3: division by zero");
  CHECK(error_of("1 + n / z", env) == "\"1 + n / z\": column 7: division by zero");
  CHECK(error_of("n % 0", env) == "\"n % 0\": column 3: modulo by zero");
  CHECK(error_of("ceil_div(n, 0)", env) == "\"ceil_div(n, 0)\": column 1: division by zero in "
                                           "ceil_div");
  CHECK(error_of("2 * ceil_div(n, z)", env) ==
        "\"2 * ceil_div(n, z)\": column 5: division by zero in ceil_div");
  CHECK(error_of("round_up(n, z)", env) == "\"round_up(n, z)\": column 1: division by zero in "
                                           "round_up");
  CHECK(error_of("round_up(n, -4)", env) == "\"round_up(n, -4)\": column 1: round_up needs a "
                                            "positive second argument, got -4");
}

TEST_CASE("int64 overflow is an error in every operation", "[core][expr]") {
  CHECK(error_of("9223372036854775807 + 1") == "\"9223372036854775807 + 1\": column 21: integer "
                                               "overflow: 9223372036854775807 + 1 does not fit "
                                               "in int64");
  CHECK(error_of("-9223372036854775808 - 1") == "\"-9223372036854775808 - 1\": column 22: "
                                                "integer overflow: -9223372036854775808 - 1 does "
                                                "not fit in int64");
  CHECK(error_of("0 - -9223372036854775808") == "\"0 - -9223372036854775808\": column 3: integer "
                                                "overflow: 0 - -9223372036854775808 does not fit "
                                                "in int64");
  const Env env{{"n", 4294967296}, {"big", k_max}, {"small", k_min}, {"m1", -1}};
  CHECK(error_of("n * n", env) ==
        "\"n * n\": column 3: integer overflow: 4294967296 * 4294967296 does not fit in int64");
  CHECK(error_of("small * m1", env) == "\"small * m1\": column 7: integer overflow: "
                                       "-9223372036854775808 * -1 does not fit in int64");
  CHECK(error_of("small / m1", env) == "\"small / m1\": column 7: integer overflow: "
                                       "-9223372036854775808 / -1 does not fit in int64");
  CHECK(error_of("-small", env) == "\"-small\": column 1: integer overflow: "
                                   "-(-9223372036854775808) does not fit in int64");
  CHECK(error_of("-(-9223372036854775808)") == "\"-(-9223372036854775808)\": column 1: integer "
                                               "overflow: -(-9223372036854775808) does not fit "
                                               "in int64");
  CHECK(error_of("ceil_div(small, m1)", env) == "\"ceil_div(small, m1)\": column 1: integer "
                                                "overflow: ceil_div(-9223372036854775808, -1) "
                                                "does not fit in int64");
  CHECK(error_of("round_up(big, 2)", env) == "\"round_up(big, 2)\": column 1: integer overflow: "
                                             "round_up(9223372036854775807, 2) does not fit in "
                                             "int64");
  // Overflow is checked per step, left to right.
  CHECK(error_of("big + 1 - 1", env) == "\"big + 1 - 1\": column 5: integer overflow: "
                                        "9223372036854775807 + 1 does not fit in int64");
  CHECK(ev("big - 1 + 1", env) == k_max);
  CHECK(ev("small + 1 - 1", env) == k_min);
  CHECK(ev("-big - 1", env) == k_min);
  CHECK(ev("small % m1", env) == 0);
  CHECK(ev("3037000499 * 3037000499") == 9223372030926249001);
  CHECK(ev("round_up(9223372036854775807, 1)") == k_max);
}

TEST_CASE("integer literal errors", "[core][expr]") {
  CHECK(error_of("9223372036854775808") == "\"9223372036854775808\": column 1: integer literal "
                                           "9223372036854775808 is out of the int64 range");
  CHECK(error_of("1 + 99999999999999999999999999") ==
        "\"1 + 99999999999999999999999999\": column 5: integer literal "
        "99999999999999999999999999 is out of the int64 range");
  CHECK(error_of("-9223372036854775809") == "\"-9223372036854775809\": column 2: integer literal "
                                            "9223372036854775809 is out of the int64 range");
  CHECK(error_of("4k") == "\"4k\": column 1: invalid integer literal \"4k\"");
  CHECK(error_of("2 * 0x10") == "\"2 * 0x10\": column 5: invalid integer literal \"0x10\"");
  CHECK(error_of("1__000") == "\"1__000\": column 1: invalid integer literal \"1__000\"");
  CHECK(error_of("1000_") == "\"1000_\": column 1: invalid integer literal \"1000_\"");
  CHECK(error_of("_1000") == "\"_1000\": column 1: unknown name \"_1000\" (no names are defined "
                             "here)");
  CHECK(error_of("1.5") == "\"1.5\": column 2: unexpected character '.'");
}

TEST_CASE("syntax errors", "[core][expr]") {
  CHECK(error_of("") == "\"\": column 1: empty expression");
  CHECK(error_of("   ") == "\"   \": column 1: empty expression");
  CHECK(error_of("2 +") == "\"2 +\": column 4: expected a number, a name or '(', found end of "
                           "input");
  CHECK(error_of("* 2") == "\"* 2\": column 1: expected a number, a name or '(', found '*'");
  CHECK(error_of("2 ** 3") == "\"2 ** 3\": column 4: expected a number, a name or '(', found "
                              "'*'");
  CHECK(error_of("()") == "\"()\": column 2: expected a number, a name or '(', found ')'");
  CHECK(error_of("(1 + 2") ==
        "\"(1 + 2\": column 7: expected ')' to close the '(' at column 1, found end of input");
  CHECK(error_of("((1 + 2) * 3") ==
        "\"((1 + 2) * 3\": column 13: expected ')' to close the '(' at column 1, found end of "
        "input");
  CHECK(error_of("(1 2)") ==
        "\"(1 2)\": column 4: expected ')' to close the '(' at column 1, found number 2");
  CHECK(error_of("1 + 2)") == "\"1 + 2)\": column 6: unmatched ')'");
  CHECK(error_of(")") == "\")\": column 1: expected a number, a name or '(', found ')'");
  CHECK(error_of("1, 2") ==
        "\"1, 2\": column 2: unexpected ',': expected an operator or the end of the expression");
  CHECK(error_of("2 (3)") ==
        "\"2 (3)\": column 3: unexpected '(': expected an operator or the end of the expression");
  CHECK(error_of("n m") == "\"n m\": column 3: unexpected name \"m\": expected an operator or the "
                           "end of the expression");
}

TEST_CASE("unexpected characters are shown exactly", "[core][expr]") {
  CHECK(error_of("2 # 3") == "\"2 # 3\": column 3: unexpected character '#'");
  CHECK(error_of("n'") == "\"n'\": column 2: unexpected character '\\''");
  CHECK(error_of("1 \\ 2") == "\"1 \\\\ 2\": column 3: unexpected character '\\\\'");
  CHECK(error_of("\"n\"") == "\"\\\"n\\\"\": column 1: unexpected character '\"'");
  CHECK(error_of(std::string("1 +\x01 2")) ==
        "\"1 +\\x01 2\": column 4: unexpected character '\\x01'");
  CHECK(error_of(std::string("1\0", 2)) == "\"1\\x00\": column 2: unexpected character '\\x00'");
  CHECK(error_of("2 \xC3\x97 3") ==
        "\"2 \xC3\x97 3\": column 3: unexpected character '\xC3\x97' (U+00D7)");
  CHECK(error_of("2\xC2\xA0+ 3") ==
        "\"2\xC2\xA0+ 3\": column 2: unexpected character '\xC2\xA0' (U+00A0)");
  CHECK(error_of("1 \xF0\x9F\x98\x80") ==
        "\"1 \xF0\x9F\x98\x80\": column 3: unexpected character '\xF0\x9F\x98\x80' (U+1F600)");
  CHECK(error_of("1 \xFF\xFE") == "\"1 \\xFF\\xFE\": column 3: unexpected character '\\xFF'");
  CHECK(error_of("1 \xC3") == "\"1 \\xC3\": column 3: unexpected character '\\xC3'");
  CHECK(error_of("(1\n+ 2") ==
        "\"(1\\n+ 2\": column 7: expected ')' to close the '(' at column 1, found end of input");
}

TEST_CASE("nesting is limited, long flat expressions are not", "[core][expr]") {
  const std::string ok = std::string(200, '(') + "1" + std::string(200, ')');
  CHECK(ev(ok) == 1);
  CHECK(ev(std::string(255, '-') + "1") == -1);
  const std::string deep = std::string(300, '(') + "1" + std::string(300, ')');
  CHECK(error_of(deep) ==
        "\"" + deep + "\": column 257: expression is nested too deeply (more than 256 levels)");
  std::string sum = "0";
  for (int i = 0; i < 10000; ++i)
    sum += " + 1";
  CHECK(ev(sum) == 10000);
}

TEST_CASE("callers prefix their location; ExprError carries the parts", "[core][expr]") {
  const Expr e = Expr::parse("ceil_div(n, z)", "config.toml:12: grid[0]");
  CHECK(e.context() == "config.toml:12: grid[0]");
  try {
    (void)e.eval(Env{{"n", 1}, {"z", 0}});
    FAIL("expected an error");
  } catch (const ExprError& err) {
    CHECK(std::string(err.what()) ==
          "config.toml:12: grid[0]: \"ceil_div(n, z)\": column 1: division by zero in ceil_div");
    CHECK(err.context() == "config.toml:12: grid[0]");
    CHECK(err.text() == "ceil_div(n, z)");
    CHECK(err.column() == 1);
    CHECK(err.reason() == "division by zero in ceil_div");
  }
  try {
    (void)Expr::parse("1 +", "config.toml:3: block[1]");
    FAIL("expected an error");
  } catch (const fibkit::Error& err) { // ExprError is a fibkit::Error
    CHECK(std::string(err.what()) == "config.toml:3: block[1]: \"1 +\": column 4: expected a "
                                     "number, a name or '(', found end of input");
  }
  CHECK_THROWS_WITH(eval_expr("q", Env{}, "k"),
                    "k: \"q\": column 1: unknown name \"q\" (no names are defined here)");
  // Messages are deterministic.
  CHECK(error_of("num_tokns", Env{{"num_tokens", 1}}) ==
        error_of("num_tokns", Env{{"num_tokens", 1}}));
}

TEST_CASE("constants, literal_value and copies", "[core][expr]") {
  const Expr c = Expr::constant(-42, "config.toml:7: smem");
  CHECK(c.text() == "-42");
  CHECK(c.context() == "config.toml:7: smem");
  CHECK(c.eval(Env{}) == -42);
  CHECK(c.literal_value() == std::optional<std::int64_t>(-42));
  CHECK(Expr::constant(k_min).eval(Env{}) == k_min);
  CHECK(Expr::constant(k_min).text() == "-9223372036854775808");
  const Expr zero;
  CHECK(zero.eval(Env{}) == 0);
  CHECK(zero.text() == "0");
  CHECK(Expr::parse("128").literal_value() == std::optional<std::int64_t>(128));
  CHECK(Expr::parse(" (-1) ").literal_value() == std::optional<std::int64_t>(-1));
  CHECK_FALSE(Expr::parse("2 * 64").literal_value().has_value());
  CHECK_FALSE(Expr::parse("n").literal_value().has_value());

  Expr copy = Expr::parse("n + 1");
  const Expr original = copy;
  copy = Expr::parse("n * 3");
  const Env env{{"n", 5}};
  CHECK(original.eval(env) == 6);
  CHECK(copy.eval(env) == 15);
  CHECK(original.text() == "n + 1");
}

TEST_CASE("Env, is_valid_name and expr_functions", "[core][expr]") {
  Env env;
  CHECK(env.size() == 0);
  CHECK_FALSE(env.find("a").has_value());
  env.set("b", 2);
  env.set("a", 1);
  env.set("b", 3);
  CHECK(env.size() == 2);
  CHECK(env.find("b") == std::optional<std::int64_t>(3));
  CHECK(env.contains("a"));
  CHECK_FALSE(env.contains("c"));
  CHECK(env.names() == std::vector<std::string>{"a", "b"});

  CHECK(fibkit::core::is_valid_name("num_tokens"));
  CHECK(fibkit::core::is_valid_name("_"));
  CHECK(fibkit::core::is_valid_name("A1_b2"));
  CHECK_FALSE(fibkit::core::is_valid_name(""));
  CHECK_FALSE(fibkit::core::is_valid_name("1a"));
  CHECK_FALSE(fibkit::core::is_valid_name("num-tokens"));
  CHECK(fibkit::core::expr_functions() ==
        std::vector<std::string>{"ceil_div", "max", "min", "round_up"});
}

TEST_CASE("every example in docs/expressions.md holds", "[core][expr]") {
#ifdef FIBKIT_SOURCE_DIR
  const std::string path = std::string(FIBKIT_SOURCE_DIR) + "/docs/expressions.md";
#else
  const std::string path = "docs/expressions.md";
#endif
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string line;
  int line_number = 0;
  bool in_table = false;
  int rows = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const std::vector<std::string> cells = split_row(line);
    if (cells.empty()) {
      in_table = false;
      continue;
    }
    if (cells == std::vector<std::string>{"expression", "with", "result"}) {
      in_table = true;
      continue;
    }
    if (!in_table || cells[0].find_first_not_of("-:") == std::string::npos)
      continue;
    INFO(path << ":" << line_number << ": " << line);
    REQUIRE(cells.size() == 3);
    const std::string& expression = cells[0];
    const Env env = parse_with(cells[1]);
    const std::string& expected = cells[2];
    ++rows;
    if (expected.rfind("error: ", 0) == 0) {
      CHECK(error_of(expression, env) == expected.substr(7));
    } else {
      std::int64_t value = 0;
      CHECK_NOTHROW(value = ev(expression, env));
      CHECK(std::to_string(value) == expected);
    }
  }
  CHECK(rows >= 60);
}
