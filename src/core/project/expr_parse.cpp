// The expression parser: a tokenizer and a recursive-descent parser into the tree of
// expr_tree.hpp, with messages that point at the column and name what was found.
#include "expr_tree.hpp"

#include "fibkit/util/text.hpp"

#include <algorithm>
#include <limits>

namespace fibkit::core::detail {

namespace {

using i64 = std::int64_t;
using u64 = std::uint64_t;
using NodePtr = std::unique_ptr<Node>;

constexpr i64 k_min = std::numeric_limits<i64>::min();
constexpr i64 k_max = std::numeric_limits<i64>::max();
constexpr u64 k_min_magnitude = u64{1} << 63; // |INT64_MIN|

/// Parentheses, unary signs and function calls may nest this deep (keeps recursion bounded).
constexpr int k_max_depth = 256;

/// Length of the valid UTF-8 sequence starting at s[i] (2..4), or 0 if there is none.
std::size_t utf8_length(std::string_view s, std::size_t i, std::uint32_t* code_point) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  std::uint32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
    cp = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    cp = lead & 0x0Fu;
    if (lead == 0xE0)
      lo = 0xA0; // no overlong forms
    if (lead == 0xED)
      hi = 0x9F; // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    cp = lead & 0x07u;
    if (lead == 0xF0)
      lo = 0x90;
    if (lead == 0xF4)
      hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size())
    return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const unsigned char c = byte(i + k);
    if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF))
      return 0;
    cp = (cp << 6) | (c & 0x3Fu);
  }
  if (code_point != nullptr)
    *code_point = cp;
  return len;
}

std::string hex_byte(unsigned char c) {
  static const char digits[] = "0123456789ABCDEF";
  return std::string{'\\', 'x', digits[c >> 4], digits[c & 0xF]};
}

} // namespace

/// `text` in double quotes, with quotes, backslashes, control characters and invalid UTF-8
/// escaped (valid non-ASCII characters are kept).
std::string quote(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      out += hex_byte(c);
    } else if (c >= 0x80) {
      const std::size_t len = utf8_length(text, i, nullptr);
      if (len == 0) {
        out += hex_byte(c);
      } else {
        out.append(text.substr(i, len));
        i += len;
        continue;
      }
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
  return out;
}

namespace {

/// The character at text[i] for a message: 'x', '\'', '\x01', '×' (U+00D7).
std::string describe_char(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c == '\'' || c == '\\')
    return std::string{'\'', '\\', static_cast<char>(c), '\''};
  if (c >= 0x20 && c < 0x7F)
    return std::string{'\'', static_cast<char>(c), '\''};
  if (c < 0x80)
    return "'" + hex_byte(c) + "'";
  std::uint32_t cp = 0;
  const std::size_t len = utf8_length(text, i, &cp);
  if (len == 0)
    return "'" + hex_byte(c) + "'";
  static const char digits[] = "0123456789ABCDEF";
  std::string code;
  for (; cp != 0 || code.size() < 4; cp >>= 4)
    code.insert(code.begin(), digits[cp & 0xF]);
  code = "U+" + code;
  return "'" + std::string(text.substr(i, len)) + "' (" + code + ")";
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

} // namespace

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}

/// `unknown <what> "x" — did you mean "y"? (known <what>s: a, b)`. `known` is sorted.
std::string unknown_message(std::string_view what, std::string_view name,
                            const std::vector<std::string>& known) {
  std::string msg = "unknown " + std::string(what) + " \"" + std::string(name) + "\"";
  // Long names would make the distance table large; they are far from anything anyway.
  if (name.size() <= 64) {
    // At most 2 edits, and fewer edits than the name has characters ("n" is no typo of "min").
    const std::string* best = nullptr;
    std::size_t best_distance = std::min<std::size_t>(3, name.size());
    for (const std::string& candidate : known) {
      const std::size_t d = util::edit_distance(name, candidate);
      if (d < best_distance) {
        best = &candidate;
        best_distance = d;
      }
    }
    if (best != nullptr)
      msg += " \xE2\x80\x94 did you mean \"" + *best + "\"?";
  }
  if (known.empty()) {
    msg += " (no " + std::string(what) + "s are defined here)";
  } else {
    msg += " (known " + std::string(what) + "s: ";
    for (std::size_t i = 0; i < known.size(); ++i)
      msg += (i == 0 ? "" : ", ") + known[i];
    msg += ")";
  }
  return msg;
}

const std::vector<FunctionInfo>& functions() {
  static const std::vector<FunctionInfo> table = {
      {"ceil_div", Function::ceil_div, 2, false},
      {"max", Function::max, 2, true},
      {"min", Function::min, 2, true},
      {"round_up", Function::round_up, 2, false},
  };
  return table;
}

const FunctionInfo* find_function(std::string_view name) {
  for (const FunctionInfo& f : functions())
    if (f.name == name)
      return &f;
  return nullptr;
}

// ---- parser ------------------------------------------------------------------------------

namespace {

enum class Tok { end, number, name, plus, minus, star, slash, percent, lparen, rparen, comma };

struct Token {
  Tok kind = Tok::end;
  std::size_t pos = 0; ///< byte offset in the text
  std::size_t len = 0;
  u64 number = 0; ///< Tok::number: the value, saturated at 2^63 + 1
};

class Parser {
public:
  Parser(std::string_view text, const std::string& context) : m_text(text), m_context(context) {}

  void parse_into(ExprImpl& impl) {
    m_impl = &impl;
    next();
    if (m_tok.kind == Tok::end)
      fail(0, "empty expression");
    impl.root = parse_sum();
    if (m_tok.kind == Tok::rparen)
      fail(m_tok.pos, "unmatched ')'");
    if (m_tok.kind != Tok::end)
      fail(m_tok.pos,
           "unexpected " + describe(m_tok) + ": expected an operator or the end of the expression");
  }

private:
  [[noreturn]] void fail(std::size_t pos, std::string reason) const {
    // Only ASCII is accepted before any error, so byte offsets are character columns.
    throw ExprError(m_context, std::string(m_text), static_cast<int>(pos) + 1, std::move(reason));
  }

  std::string_view token_text(const Token& t) const { return m_text.substr(t.pos, t.len); }

  std::string describe(const Token& t) const {
    switch (t.kind) {
    case Tok::end:
      return "end of input";
    case Tok::number:
      return "number " + std::string(token_text(t));
    case Tok::name:
      return "name \"" + std::string(token_text(t)) + "\"";
    default:
      return "'" + std::string(token_text(t)) + "'";
    }
  }

  void next() {
    std::size_t i = m_pos;
    while (i < m_text.size() && is_space(m_text[i]))
      ++i;
    Token t;
    t.pos = i;
    if (i >= m_text.size()) {
      t.kind = Tok::end;
    } else if (is_digit(m_text[i])) {
      std::size_t j = i;
      while (j < m_text.size() && is_name_char(m_text[j]))
        ++j;
      t.kind = Tok::number;
      t.len = j - i;
      const std::string_view lit = m_text.substr(i, t.len);
      for (std::size_t k = 0; k < lit.size(); ++k) {
        const char c = lit[k];
        const bool ok = is_digit(c) || (c == '_' && k + 1 < lit.size() && is_digit(lit[k + 1]) &&
                                        is_digit(lit[k - 1]));
        if (!ok)
          fail(i, "invalid integer literal \"" + std::string(lit) + "\"");
        if (c == '_')
          continue;
        // Saturate at 2^63 + 1: anything above 2^63 is out of range however long it is.
        const u64 digit = static_cast<u64>(c - '0');
        if (t.number > (k_min_magnitude - digit) / 10)
          t.number = k_min_magnitude + 1;
        else
          t.number = t.number * 10 + digit;
      }
    } else if (is_name_start(m_text[i])) {
      std::size_t j = i;
      while (j < m_text.size() && is_name_char(m_text[j]))
        ++j;
      t.kind = Tok::name;
      t.len = j - i;
    } else {
      t.len = 1;
      switch (m_text[i]) {
      case '+':
        t.kind = Tok::plus;
        break;
      case '-':
        t.kind = Tok::minus;
        break;
      case '*':
        t.kind = Tok::star;
        break;
      case '/':
        t.kind = Tok::slash;
        break;
      case '%':
        t.kind = Tok::percent;
        break;
      case '(':
        t.kind = Tok::lparen;
        break;
      case ')':
        t.kind = Tok::rparen;
        break;
      case ',':
        t.kind = Tok::comma;
        break;
      default:
        fail(i, "unexpected character " + describe_char(m_text, i));
      }
    }
    m_pos = t.pos + t.len;
    m_tok = t;
  }

  static int column_of(std::size_t pos) { return static_cast<int>(pos) + 1; }

  NodePtr make_constant(std::size_t pos, i64 value) {
    auto n = std::make_unique<Node>();
    n->kind = Kind::constant;
    n->column = column_of(pos);
    n->value = value;
    return n;
  }

  /// One precedence level: operand (op operand)*, with ops from `a` and `b`.
  template <typename Operand> NodePtr parse_chain(Tok a, Tok b, Tok c, Operand operand) {
    NodePtr first = (this->*operand)();
    if (m_tok.kind != a && m_tok.kind != b && m_tok.kind != c)
      return first;
    auto n = std::make_unique<Node>();
    n->kind = Kind::chain;
    n->column = first->column;
    n->args.push_back(std::move(first));
    n->ops.push_back(0);
    n->op_columns.push_back(0);
    while (m_tok.kind == a || m_tok.kind == b || m_tok.kind == c) {
      n->ops.push_back(m_text[m_tok.pos]);
      n->op_columns.push_back(column_of(m_tok.pos));
      next();
      n->args.push_back((this->*operand)());
    }
    return n;
  }

  NodePtr parse_sum() {
    return parse_chain(Tok::plus, Tok::minus, Tok::minus, &Parser::parse_product);
  }

  NodePtr parse_product() {
    return parse_chain(Tok::star, Tok::slash, Tok::percent, &Parser::parse_unary);
  }

  NodePtr parse_unary() {
    if (++m_depth > k_max_depth)
      fail(m_tok.pos, "expression is nested too deeply (more than " + std::to_string(k_max_depth) +
                          " levels)");
    NodePtr result;
    if (m_tok.kind == Tok::minus) {
      const std::size_t pos = m_tok.pos;
      next();
      if (m_tok.kind == Tok::number && m_tok.number <= k_min_magnitude) {
        // Fold "-literal" so that -9223372036854775808 (INT64_MIN) can be written.
        const u64 magnitude = m_tok.number;
        result =
            make_constant(pos, magnitude == k_min_magnitude ? k_min : -static_cast<i64>(magnitude));
        next();
      } else {
        auto n = std::make_unique<Node>();
        n->kind = Kind::negate;
        n->column = column_of(pos);
        n->args.push_back(parse_unary());
        result = std::move(n);
      }
    } else if (m_tok.kind == Tok::plus) {
      next();
      result = parse_unary();
    } else {
      result = parse_primary();
    }
    --m_depth;
    return result;
  }

  NodePtr parse_primary() {
    const Token t = m_tok;
    switch (t.kind) {
    case Tok::number:
      if (t.number > static_cast<u64>(k_max))
        fail(t.pos, "integer literal " + std::string(token_text(t)) + " is out of the int64 range");
      next();
      return make_constant(t.pos, static_cast<i64>(t.number));
    case Tok::name: {
      next();
      if (m_tok.kind == Tok::lparen)
        return parse_call(t);
      auto n = std::make_unique<Node>();
      n->kind = Kind::name;
      n->column = column_of(t.pos);
      n->name = std::string(token_text(t));
      if (std::find(m_impl->names.begin(), m_impl->names.end(), n->name) == m_impl->names.end()) {
        m_impl->names.push_back(n->name);
        m_impl->name_columns.push_back(n->column);
      }
      return n;
    }
    case Tok::lparen: {
      next();
      NodePtr inner = parse_sum();
      if (m_tok.kind != Tok::rparen)
        fail(m_tok.pos, "expected ')' to close the '(' at column " +
                            std::to_string(column_of(t.pos)) + ", found " + describe(m_tok));
      next();
      return inner;
    }
    default:
      fail(t.pos, "expected a number, a name or '(', found " + describe(t));
    }
  }

  /// `name` is the function's name token; the current token is its '('.
  NodePtr parse_call(const Token& name) {
    const std::string fname(token_text(name));
    const FunctionInfo* info = find_function(fname);
    if (info == nullptr)
      fail(name.pos, unknown_message("function", fname, expr_functions()));
    auto n = std::make_unique<Node>();
    n->kind = Kind::call;
    n->column = column_of(name.pos);
    n->name = fname;
    n->function = info->function;
    next(); // '('
    if (m_tok.kind != Tok::rparen) {
      while (true) {
        n->args.push_back(parse_sum());
        if (m_tok.kind == Tok::comma) {
          next();
          continue;
        }
        if (m_tok.kind == Tok::rparen)
          break;
        fail(m_tok.pos,
             "expected ',' or ')' in the arguments of " + fname + ", found " + describe(m_tok));
      }
    }
    next(); // ')'
    const std::size_t count = n->args.size();
    if (info->variadic ? count < info->min_args : count != info->min_args) {
      fail(name.pos, fname + " expects " + (info->variadic ? "at least " : "") +
                         std::to_string(info->min_args) + " arguments, got " +
                         std::to_string(count));
    }
    return n;
  }

  std::string_view m_text;
  const std::string& m_context;
  ExprImpl* m_impl = nullptr;
  std::size_t m_pos = 0;
  Token m_tok;
  int m_depth = 0;
};

} // namespace

void parse_into(ExprImpl& impl) {
  Parser(impl.text, impl.context).parse_into(impl);
}

} // namespace fibkit::core::detail
