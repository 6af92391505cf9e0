// Integer expressions: the evaluator with checked int64 arithmetic over the tree that
// expr_parse.cpp builds, and the C++ the generated entry evaluates them with. The language is
// described in docs/expressions.md.
#include "fibkit/core/project/expr.hpp"

#include "expr_tree.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>

namespace fibkit::core {

namespace {

using detail::ExprImpl;
using detail::Function;
using detail::FunctionInfo;
using detail::is_name_char;
using detail::is_name_start;
using detail::Kind;
using detail::Node;
using NodePtr = std::unique_ptr<Node>;
using detail::quote;
using detail::unknown_message;

using i64 = std::int64_t;
using u64 = std::uint64_t;

constexpr i64 k_min = std::numeric_limits<i64>::min();
constexpr i64 k_max = std::numeric_limits<i64>::max();

} // namespace

// ---- errors ------------------------------------------------------------------------------

namespace {

std::string expr_message(const std::string& context, const std::string& text, int column,
                         const std::string& reason) {
  std::string msg;
  if (!context.empty())
    msg = context + ": ";
  msg += quote(text) + ": column " + std::to_string(column) + ": " + reason;
  return msg;
}

} // namespace

ExprError::ExprError(std::string context, std::string text, int column, std::string reason)
    : Error(expr_message(context, text, column, reason)), m_context(std::move(context)),
      m_text(std::move(text)), m_column(column), m_reason(std::move(reason)) {}

// ---- evaluation --------------------------------------------------------------------------

namespace {

class Evaluator {
public:
  Evaluator(const ExprImpl& impl, const Env& env) : m_impl(impl), m_env(env) {}

  i64 eval(const Node& n) const {
    switch (n.kind) {
    case Kind::constant:
      return n.value;
    case Kind::name: {
      if (const auto v = m_env.find(n.name))
        return *v;
      unknown_name(n.name, n.column);
    }
    case Kind::negate: {
      const i64 v = eval(*n.args[0]);
      if (v == k_min)
        overflow(n.column, "-(" + std::to_string(v) + ")");
      return -v;
    }
    case Kind::chain: {
      i64 acc = eval(*n.args[0]);
      for (std::size_t i = 1; i < n.args.size(); ++i)
        acc = binary(n.ops[i], n.op_columns[i], acc, eval(*n.args[i]));
      return acc;
    }
    case Kind::call:
      return call(n);
    }
    return 0; // unreachable
  }

  [[noreturn]] void unknown_name(const std::string& name, int column) const {
    fail(column, unknown_message("name", name, m_env.names()));
  }

private:
  [[noreturn]] void fail(int column, std::string reason) const {
    throw ExprError(m_impl.context, m_impl.text, column, std::move(reason));
  }

  [[noreturn]] void overflow(int column, const std::string& what) const {
    fail(column, "integer overflow: " + what + " does not fit in int64");
  }

  static std::string str(i64 v) { return std::to_string(v); }

  i64 binary(char op, int column, i64 a, i64 b) const {
    i64 r = 0;
    switch (op) {
    case '+':
      if (__builtin_add_overflow(a, b, &r))
        overflow(column, str(a) + " + " + str(b));
      return r;
    case '-':
      if (__builtin_sub_overflow(a, b, &r))
        overflow(column, str(a) + " - " + str(b));
      return r;
    case '*':
      if (__builtin_mul_overflow(a, b, &r))
        overflow(column, str(a) + " * " + str(b));
      return r;
    case '/':
      if (b == 0)
        fail(column, "division by zero");
      if (a == k_min && b == -1)
        overflow(column, str(a) + " / " + str(b));
      return floor_div(a, b);
    default: // '%'
      if (b == 0)
        fail(column, "modulo by zero");
      return floor_mod(a, b);
    }
  }

  static i64 floor_div(i64 a, i64 b) {
    const i64 q = a / b;
    return (a % b != 0 && ((a % b < 0) != (b < 0))) ? q - 1 : q;
  }

  static i64 floor_mod(i64 a, i64 b) {
    if (b == -1)
      return 0; // INT64_MIN % -1 is undefined in C++; mathematically 0
    const i64 r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  }

  /// The quotient rounded up; b != 0 and not INT64_MIN / -1.
  static i64 ceil_quotient(i64 a, i64 b) {
    const i64 q = a / b;
    return (a % b != 0 && ((a % b < 0) == (b < 0))) ? q + 1 : q;
  }

  i64 call(const Node& n) const {
    std::vector<i64> v;
    v.reserve(n.args.size());
    for (const NodePtr& arg : n.args)
      v.push_back(eval(*arg));
    switch (n.function) {
    case Function::min:
      return *std::min_element(v.begin(), v.end());
    case Function::max:
      return *std::max_element(v.begin(), v.end());
    case Function::ceil_div:
      if (v[1] == 0)
        fail(n.column, "division by zero in ceil_div");
      if (v[0] == k_min && v[1] == -1)
        overflow(n.column, "ceil_div(" + str(v[0]) + ", " + str(v[1]) + ")");
      return ceil_quotient(v[0], v[1]);
    case Function::round_up: {
      if (v[1] == 0)
        fail(n.column, "division by zero in round_up");
      if (v[1] < 0)
        fail(n.column, "round_up needs a positive second argument, got " + str(v[1]));
      i64 r = 0;
      if (__builtin_mul_overflow(ceil_quotient(v[0], v[1]), v[1], &r))
        overflow(n.column, "round_up(" + str(v[0]) + ", " + str(v[1]) + ")");
      return r;
    }
    }
    return 0; // unreachable
  }

  const ExprImpl& m_impl;
  const Env& m_env;
};

} // namespace

// ---- Env ---------------------------------------------------------------------------------

Env::Env(std::initializer_list<std::pair<const std::string, std::int64_t>> values) {
  for (const auto& [name, value] : values)
    set(name, value);
}

void Env::set(std::string_view name, std::int64_t value) {
  const auto it = m_values.find(name);
  if (it != m_values.end())
    it->second = value;
  else
    m_values.emplace(std::string(name), value);
}

std::optional<std::int64_t> Env::find(std::string_view name) const {
  const auto it = m_values.find(name);
  if (it == m_values.end())
    return std::nullopt;
  return it->second;
}

std::vector<std::string> Env::names() const {
  std::vector<std::string> out;
  out.reserve(m_values.size());
  for (const auto& entry : m_values)
    out.push_back(entry.first);
  return out;
}

// ---- Expr --------------------------------------------------------------------------------

Expr::Expr() {
  static const std::shared_ptr<const ExprImpl> zero = constant(0).m_impl;
  m_impl = zero;
}

Expr Expr::parse(std::string_view text, std::string context) {
  auto impl = std::make_shared<ExprImpl>();
  impl->text = std::string(text);
  impl->context = std::move(context);
  detail::parse_into(*impl);
  return Expr(std::move(impl));
}

Expr Expr::constant(std::int64_t value, std::string context) {
  auto impl = std::make_shared<ExprImpl>();
  impl->text = std::to_string(value);
  impl->context = std::move(context);
  auto node = std::make_unique<Node>();
  node->value = value;
  impl->root = std::move(node);
  return Expr(std::move(impl));
}

std::int64_t Expr::eval(const Env& env) const {
  return Evaluator(*m_impl, env).eval(*m_impl->root);
}

void Expr::check_names(const Env& env) const {
  for (std::size_t i = 0; i < m_impl->names.size(); ++i)
    if (!env.contains(m_impl->names[i]))
      Evaluator(*m_impl, env).unknown_name(m_impl->names[i], m_impl->name_columns[i]);
}

const std::vector<std::string>& Expr::names() const {
  return m_impl->names;
}

const std::string& Expr::text() const {
  return m_impl->text;
}

const std::string& Expr::context() const {
  return m_impl->context;
}

std::optional<std::int64_t> Expr::literal_value() const {
  if (m_impl->root->kind == Kind::constant)
    return m_impl->root->value;
  return std::nullopt;
}

namespace {

std::string cpp_of(const Node& n, const std::function<std::string(const std::string&)>& name) {
  switch (n.kind) {
  case Kind::constant:
    // INT64_MIN has no literal of its own.
    return n.value == k_min ? "(INT64_C(-9223372036854775807) - 1)"
                            : "INT64_C(" + std::to_string(n.value) + ")";
  case Kind::name:
    return name(n.name);
  case Kind::negate:
    return "fk::neg(" + cpp_of(*n.args[0], name) + ")";
  case Kind::chain: {
    std::string acc = cpp_of(*n.args[0], name);
    for (std::size_t i = 1; i < n.args.size(); ++i) {
      const char* f = n.ops[i] == '+'   ? "add"
                      : n.ops[i] == '-' ? "sub"
                      : n.ops[i] == '*' ? "mul"
                      : n.ops[i] == '/' ? "div"
                                        : "mod";
      acc = std::string("fk::") + f + "(" + acc + ", " + cpp_of(*n.args[i], name) + ")";
    }
    return acc;
  }
  case Kind::call: {
    const char* f = n.function == Function::min        ? "min"
                    : n.function == Function::max      ? "max"
                    : n.function == Function::ceil_div ? "ceil_div"
                                                       : "round_up";
    // min/max take two arguments each in the generated code: fold from the left.
    std::string acc = cpp_of(*n.args[0], name);
    for (std::size_t i = 1; i < n.args.size(); ++i)
      acc = std::string("fk::") + f + "(" + acc + ", " + cpp_of(*n.args[i], name) + ")";
    return acc;
  }
  }
  return "0"; // unreachable
}

} // namespace

std::string Expr::to_cpp(const std::function<std::string(const std::string&)>& name) const {
  return cpp_of(*m_impl->root, name);
}

std::int64_t eval_expr(std::string_view text, const Env& env, std::string context) {
  return Expr::parse(text, std::move(context)).eval(env);
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || !is_name_start(name[0]))
    return false;
  return std::all_of(name.begin(), name.end(), is_name_char);
}

const std::vector<std::string>& expr_functions() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const FunctionInfo& f : detail::functions())
      out.emplace_back(f.name);
    std::sort(out.begin(), out.end());
    return out;
  }();
  return names;
}

} // namespace fibkit::core
