// Integer expressions for launch sizes in config.toml (grid, block, shared memory, workspace
// shapes, literal kernel arguments): int64 arithmetic over names and literals, e.g.
// "ceil_div(num_tokens, 4)". The language is described in docs/expressions.md.
#pragma once

#include "fibkit/util/error.hpp"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fibkit::core {

namespace detail {
struct ExprImpl; ///< The parsed tree and its text (src/core/project/expr_tree.hpp).
} // namespace detail

/// The values of the names an expression may use (workload axes, device facts such as num_sms).
class Env {
public:
  /// An environment with no names.
  Env() = default;
  /// An environment with the given names and values.
  Env(std::initializer_list<std::pair<const std::string, std::int64_t>> values);

  /// Sets `name` to `value`, replacing an earlier value.
  void set(std::string_view name, std::int64_t value);
  /// The value of `name`, or std::nullopt when it is not defined.
  std::optional<std::int64_t> find(std::string_view name) const;
  /// Whether `name` is defined.
  bool contains(std::string_view name) const { return find(name).has_value(); }
  /// All defined names, sorted.
  std::vector<std::string> names() const;
  /// The number of defined names.
  std::size_t size() const { return m_values.size(); }

private:
  std::map<std::string, std::int64_t, std::less<>> m_values;
};

/// An error in an expression: a syntax error (from Expr::parse) or an evaluation error (unknown
/// name, division by zero, overflow). what() is
/// `[<context>: ]"<expression text>": column <n>: <reason>`.
class ExprError : public Error {
public:
  /// Builds the error and its message.
  ExprError(std::string context, std::string text, int column, std::string reason);

  /// The caller's location prefix given to Expr::parse (may be empty).
  const std::string& context() const { return m_context; }
  /// The expression text as written.
  const std::string& text() const { return m_text; }
  /// The 1-based column (character) in text() the error is about.
  int column() const { return m_column; }
  /// What went wrong, without the location (e.g. "division by zero").
  const std::string& reason() const { return m_reason; }

private:
  std::string m_context;
  std::string m_text;
  int m_column;
  std::string m_reason;
};

/// A parsed expression. Immutable and cheap to copy (the tree is shared).
class Expr {
public:
  /// The constant 0.
  Expr();

  /// Parses `text`. `context` (e.g. `config.toml:12: grid[0]`) prefixes every error message of
  /// this expression, at parse time and at eval time. Throws ExprError on a syntax error.
  static Expr parse(std::string_view text, std::string context = {});
  /// An expression that is the constant `value` (for integers given directly in TOML).
  static Expr constant(std::int64_t value, std::string context = {});

  /// Evaluates the expression. Throws ExprError on an unknown name, a division or modulo by
  /// zero, or an int64 overflow.
  std::int64_t eval(const Env& env) const;
  /// Throws eval()'s unknown-name ExprError for the first name (in text order) not in `env`.
  void check_names(const Env& env) const;
  /// The distinct names the expression uses, in order of first appearance.
  const std::vector<std::string>& names() const;
  /// The expression text as written (the decimal value for Expr::constant).
  const std::string& text() const;
  /// The caller's location prefix for error messages (may be empty).
  const std::string& context() const;
  /// The value if the expression is just an integer literal, e.g. "128", "-1" or "(4)".
  std::optional<std::int64_t> literal_value() const;
  /// The expression as C++ text over int64_t, for a generated host entry (`fibkit pack`):
  /// `name` gives the C++ text of each name; every operation becomes a call of a checked helper
  /// that the generated code defines with eval()'s semantics: fk::add, fk::sub, fk::mul,
  /// fk::div and fk::mod (floor), fk::neg, fk::min, fk::max, fk::ceil_div, fk::round_up.
  /// E.g. "ceil_div(n, 4) + 1" -> "fk::add(fk::ceil_div(ax_n, INT64_C(4)), INT64_C(1))".
  std::string to_cpp(const std::function<std::string(const std::string&)>& name) const;

private:
  explicit Expr(std::shared_ptr<const detail::ExprImpl> impl) : m_impl(std::move(impl)) {}
  std::shared_ptr<const detail::ExprImpl> m_impl;
};

/// Parses and evaluates `text` in one go (see Expr::parse and Expr::eval).
std::int64_t eval_expr(std::string_view text, const Env& env, std::string context = {});

/// Whether `name` is a valid expression name: [A-Za-z_][A-Za-z0-9_]*.
bool is_valid_name(std::string_view name);

/// The built-in functions, sorted: ceil_div, max, min, round_up.
const std::vector<std::string>& expr_functions();

} // namespace fibkit::core
