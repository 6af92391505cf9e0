// The parsed form of an expression, shared by the parser (expr_parse.cpp) and the evaluator and
// code generator (expr.cpp); private to core.
#pragma once

#include "fibkit/core/project/expr.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fibkit::core::detail {

enum class Function { ceil_div, max, min, round_up };

enum class Kind {
  constant, ///< value
  name,     ///< name
  negate,   ///< -args[0]
  chain,    ///< args[0] ops[1] args[1] ops[2] args[2] ..., left to right (one precedence level)
  call,     ///< function(args...)
};

struct Node {
  Kind kind = Kind::constant;
  int column = 1;         ///< where errors about this node point (1-based)
  std::int64_t value = 0; ///< constant
  std::string name;       ///< name, or the function's name for call
  Function function{};    ///< call
  std::vector<std::unique_ptr<Node>> args;
  std::vector<char> ops;       ///< chain: ops[i] joins args[i-1] and args[i]; ops[0] unused
  std::vector<int> op_columns; ///< chain: the column of ops[i]
};

struct ExprImpl {
  std::string text;
  std::string context;
  std::unique_ptr<Node> root;
  std::vector<std::string> names;
  std::vector<int> name_columns; ///< first occurrence of names[i]
};

struct FunctionInfo {
  std::string_view name;
  Function function;
  std::size_t min_args;
  bool variadic; ///< takes min_args or more
};

/// The functions an expression may call, and the one named `name` (nullptr when none is).
const std::vector<FunctionInfo>& functions();
const FunctionInfo* find_function(std::string_view name);

/// `text` in double quotes, with quotes, backslashes, control characters and invalid UTF-8
/// escaped (valid non-ASCII characters are kept).
std::string quote(std::string_view text);
/// `unknown <what> "x" — did you mean "y"? (known <what>s: a, b)`. `known` is sorted.
std::string unknown_message(std::string_view what, std::string_view name,
                            const std::vector<std::string>& known);
bool is_name_start(char c);
bool is_name_char(char c);

/// Parses `impl.text` into `impl.root`, `impl.names` and `impl.name_columns`; throws ExprError
/// (with `impl.context`) pointing at the offending column.
void parse_into(ExprImpl& impl);

} // namespace fibkit::core::detail
