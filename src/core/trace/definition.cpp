#include "fibkit/core/trace/definition.hpp"

#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"

#include <fmt/format.h>

#include <cctype>
#include <set>

namespace fibkit::core {

const Axis* Definition::find_axis(std::string_view axis) const {
  for (const Axis& a : axes) {
    if (a.name == axis) {
      return &a;
    }
  }
  return nullptr;
}

const TensorSpec* Definition::find_input(std::string_view input) const {
  for (const TensorSpec& t : inputs) {
    if (t.name == input) {
      return &t;
    }
  }
  return nullptr;
}

const TensorSpec* Definition::find_output(std::string_view output) const {
  for (const TensorSpec& t : outputs) {
    if (t.name == output) {
      return &t;
    }
  }
  return nullptr;
}

std::vector<std::string> Definition::var_axes() const {
  std::vector<std::string> out;
  for (const Axis& a : axes) {
    if (!a.is_const) {
      out.push_back(a.name);
    }
  }
  return out;
}

std::vector<std::int64_t>
Definition::concrete_shape(const TensorSpec& spec,
                           const std::map<std::string, std::int64_t>& var_values) const {
  std::vector<std::int64_t> shape;
  if (!spec.shape) {
    return shape;
  }
  for (const std::string& axis_name : *spec.shape) {
    const Axis* axis = find_axis(axis_name);
    if (axis && axis->is_const) {
      shape.push_back(axis->value);
      continue;
    }
    auto it = var_values.find(axis_name);
    if (it == var_values.end()) {
      throw Error(fmt::format("definition \"{}\": no value for axis \"{}\" of tensor \"{}\"", name,
                              axis_name, spec.name));
    }
    shape.push_back(it->second);
  }
  return shape;
}

std::string check_python_source(std::string_view source, bool need_run) {
  std::vector<char> stack;
  std::size_t line = 1;
  bool has_run = false;
  bool line_start = true;
  const auto blank = [&](std::size_t at) {
    return at < source.size() && (source[at] == ' ' || source[at] == '\t');
  };
  for (std::size_t i = 0; i < source.size(); ++i) {
    const char c = source[i];
    if (line_start && stack.empty() && source.compare(i, 3, "def") == 0 && blank(i + 3)) {
      std::size_t j = i + 3;
      while (blank(j)) {
        ++j;
      }
      if (source.compare(j, 3, "run") == 0) {
        std::size_t k = j + 3;
        while (blank(k)) {
          ++k;
        }
        has_run = has_run || (k < source.size() && source[k] == '(');
      }
    }
    line_start = false;
    if (c == '\n') {
      ++line;
      line_start = true;
    } else if (c == '#') {
      while (i + 1 < source.size() && source[i + 1] != '\n') {
        ++i;
      }
    } else if (c == '"' || c == '\'') {
      const bool triple = source.compare(i, 3, std::string(3, c)) == 0;
      const std::string close = triple ? std::string(3, c) : std::string(1, c);
      const std::size_t start_line = line; // Python reports where the literal starts
      std::size_t j = i + close.size();
      bool closed = false;
      for (; j < source.size(); ++j) {
        if (source[j] == '\\') {
          ++j;
          line += j < source.size() && source[j] == '\n' ? 1 : 0; // a continued line
          continue;
        }
        if (source[j] == '\n') {
          if (!triple) {
            break;
          }
          ++line;
        }
        if (source.compare(j, close.size(), close) == 0) {
          closed = true;
          break;
        }
      }
      if (!closed) {
        return fmt::format("line {}: unterminated string literal", start_line);
      }
      i = j + close.size() - 1;
    } else if (c == '(' || c == '[' || c == '{') {
      stack.push_back(c);
    } else if (c == ')' || c == ']' || c == '}') {
      const char open = c == ')' ? '(' : c == ']' ? '[' : '{';
      if (stack.empty() || stack.back() != open) {
        return fmt::format("line {}: unmatched '{}'", line, c);
      }
      stack.pop_back();
    }
  }
  if (!stack.empty()) {
    return fmt::format("'{}' was never closed", stack.back());
  }
  if (need_run && !has_run) {
    return "must define a top-level function named 'run'";
  }
  return {};
}

std::string check_python_expression(std::string_view expr) {
  if (std::string err = check_python_source(expr, false); !err.empty()) {
    return err;
  }
  // Token check: an operand must follow every binary operator, opening bracket and comma, and
  // the expression must not end with an operator. Catches "K % == 0" and "a +".
  static const std::vector<std::string_view> ops{
      "**", "//", "<<", ">>", "<=", ">=", "==", "!=", ":=", "+", "-", "*", "/",
      "%",  "@",  "&",  "|",  "^",  "<",  ">",  "~",  ",",  ":", ".", "=", ";"};
  bool need_operand = true; // at the start
  std::string last;
  for (std::size_t i = 0; i < expr.size();) {
    const char c = expr[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '#') { // a comment runs to the end of the line
      while (i < expr.size() && expr[i] != '\n') {
        ++i;
      }
      continue;
    }
    // ".5" and the Ellipsis "..." are operands.
    const bool dot_operand =
        c == '.' && i + 1 < expr.size() &&
        (std::isdigit(static_cast<unsigned char>(expr[i + 1])) || expr.compare(i, 3, "...") == 0);
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '"' || c == '\'' ||
        static_cast<unsigned char>(c) >= 0x80 || dot_operand) {
      std::size_t j = i;
      if (c == '"' || c == '\'') {
        j = expr.find(c, i + 1);
        j = j == std::string_view::npos ? expr.size() : j + 1;
      } else {
        while (j < expr.size() &&
               (std::isalnum(static_cast<unsigned char>(expr[j])) || expr[j] == '_' ||
                expr[j] == '.' || static_cast<unsigned char>(expr[j]) >= 0x80)) {
          ++j;
        }
      }
      const std::string word(expr.substr(i, j - i));
      const bool keyword_op = word == "and" || word == "or" || word == "in" || word == "is";
      const bool unary_word = word == "not";
      if (keyword_op && need_operand && !(word == "in" && last == "not")) {
        return fmt::format("unexpected \"{}\"", word);
      }
      need_operand = keyword_op || unary_word;
      last = word;
      i = j;
      continue;
    }
    if (c == '(' || c == '[' || c == '{') {
      need_operand = true;
      last = std::string(1, c);
      ++i;
      continue;
    }
    if (c == ')' || c == ']' || c == '}') {
      // "()", "f()", "f(a,)" and "x[1:]" are fine; "a + )" is not.
      if (need_operand && last != "(" && last != "[" && last != "{" && last != "," && last != ":") {
        return fmt::format("unexpected '{}'", c);
      }
      need_operand = false;
      last = std::string(1, c);
      ++i;
      continue;
    }
    std::string_view op;
    for (std::string_view candidate : ops) {
      if (expr.compare(i, candidate.size(), candidate) == 0) {
        op = candidate;
        break;
      }
    }
    if (op.empty()) {
      return fmt::format("unexpected character '{}'", c);
    }
    // Prefix operators; "*" and "**" also unpack after a bracket or comma (f(*a), {**kw}), and
    // slice bounds may be left out (x[:2], x[::2], x[:, 0]).
    const bool after_open = last == "(" || last == "[" || last == "{" || last == ",";
    const bool prefix =
        op == "+" || op == "-" || op == "~" || ((op == "*" || op == "**") && after_open) ||
        (op == ":" && (last == "[" || last == "," || last == ":")) || (op == "," && last == ":");
    if (need_operand && !prefix) {
      return fmt::format("unexpected '{}'", op);
    }
    need_operand = true;
    last = std::string(op);
    i += op.size();
  }
  if (need_operand && last != ",") { // "a," is a tuple
    return last.empty() ? "empty expression" : fmt::format("expression ends with '{}'", last);
  }
  return {};
}

namespace {

std::optional<std::string> optional_string(const util::JsonValue& obj, std::string_view key) {
  auto v = obj.find(key);
  if (!v || v->is_null()) {
    return std::nullopt;
  }
  return v->as_string();
}

std::vector<std::string> nonempty_string_list(const util::JsonValue& obj, std::string_view key) {
  std::vector<std::string> out;
  auto v = obj.find(key);
  if (!v) {
    return out;
  }
  for (const util::JsonValue& item : v->items()) {
    out.push_back(item.as_nonempty_string());
  }
  return out;
}

// True when `json` has a "value" that AxisConst accepts (an integer >= 0, lax forms included).
bool has_valid_const_value(const util::JsonValue& json) {
  const std::optional<util::JsonValue> value = json.find("value");
  if (!value) {
    return false;
  }
  try {
    return value->as_int_lax() >= 0;
  } catch (const Error&) {
    return false;
  }
}

Axis parse_axis(const std::string& name, const util::JsonValue& json) {
  Axis axis;
  axis.name = name;
  std::string type = "const";
  if (auto t = json.find("type")) {
    type = t->as_string();
  } else if (!has_valid_const_value(json)) {
    // pydantic's union tries AxisConst first (needs a valid value), then AxisVar (type defaults
    // to var, other keys ignored): {"value": -1} is a var axis.
    type = "var";
  }
  if (type == "const") {
    axis.is_const = true;
    axis.value = json.at("value").as_int_lax();
    if (axis.value < 0) {
      json.at("value").fail("must be >= 0");
    }
  } else if (type != "var") {
    json.at("type").fail(fmt::format("must be \"const\" or \"var\", got \"{}\"", type));
  }
  axis.description = optional_string(json, "description");
  return axis;
}

TensorSpec parse_tensor(const std::string& name, const util::JsonValue& json) {
  TensorSpec spec;
  spec.name = name;
  const util::JsonValue shape = json.at("shape");
  if (!shape.is_null()) {
    spec.shape.emplace();
    for (const util::JsonValue& dim : shape.items()) {
      spec.shape->push_back(dim.as_nonempty_string());
    }
  }
  const util::JsonValue dtype = json.at("dtype");
  const std::string dtype_text = dtype.as_string();
  auto parsed = parse_dtype(dtype_text);
  if (!parsed) {
    dtype.fail(fmt::format("unknown dtype \"{}\" (expected one of {})", dtype_text, dtype_names()));
  }
  spec.dtype = *parsed;
  spec.description = optional_string(json, "description");
  return spec;
}

std::vector<TensorSpec> parse_tensors(const util::JsonValue& json) {
  std::vector<TensorSpec> out;
  for (const auto& [name, value] : json.members()) {
    if (name.empty()) {
      value.fail("tensor names must be non-empty");
    }
    out.push_back(parse_tensor(name, value));
  }
  return out;
}

} // namespace

Definition parse_definition(const util::JsonValue& json) {
  if (!json.is_object()) {
    json.fail(fmt::format("expected a definition object, got {}", json.type_name()));
  }
  Definition def;
  def.name = json.at("name").as_nonempty_string();
  def.op_type = json.at("op_type").as_nonempty_string();
  for (const auto& [name, value] : json.at("axes").members()) {
    if (name.empty()) {
      value.fail("axis names must be non-empty");
    }
    def.axes.push_back(parse_axis(name, value));
  }
  def.inputs = parse_tensors(json.at("inputs"));
  def.outputs = parse_tensors(json.at("outputs"));
  const util::JsonValue reference = json.at("reference");
  def.reference = reference.as_nonempty_string();
  def.tags = nonempty_string_list(json, "tags");
  def.description = optional_string(json, "description");
  def.constraints = nonempty_string_list(json, "constraints");

  // The official model validators, in their order.
  if (std::string err = check_python_source(def.reference, true); !err.empty()) {
    reference.fail(fmt::format("reference is not valid Python: {}", err));
  }
  for (const TensorSpec& out : def.outputs) {
    if (def.find_input(out.name)) {
      json.at("outputs").at(out.name).fail(
          fmt::format("input and output names must not overlap (\"{}\" is both)", out.name));
    }
  }
  for (std::size_t i = 0; i < def.constraints.size(); ++i) {
    if (std::string err = check_python_expression(def.constraints[i]); !err.empty()) {
      json.at("constraints").items()[i].fail(fmt::format("not a valid Python expression: {}", err));
    }
  }
  for (const auto* group : {&def.inputs, &def.outputs}) {
    const char* kind = group == &def.inputs ? "inputs" : "outputs";
    for (const TensorSpec& spec : *group) {
      if (!spec.shape) {
        continue;
      }
      for (std::size_t d = 0; d < spec.shape->size(); ++d) {
        if (!def.find_axis((*spec.shape)[d])) {
          json.at(kind).at(spec.name).at("shape").items()[d].fail(
              fmt::format("references undefined axis \"{}\"", (*spec.shape)[d]));
        }
      }
    }
  }
  return def;
}

Definition load_definition(const std::filesystem::path& path, const std::string& display_name) {
  const std::string text = util::read_file(path);
  util::JsonParser parser;
  return parse_definition(util::parse_json(parser, text, {display_name, 0}));
}

namespace {
void write_optional(util::JsonWriter& out, const std::optional<std::string>& text) {
  if (text) {
    out.value(*text);
  } else {
    out.null();
  }
}

void write_tensors(util::JsonWriter& out, const std::vector<TensorSpec>& tensors) {
  out.begin_object();
  for (const TensorSpec& t : tensors) {
    out.key(t.name).begin_object().key("shape");
    if (t.shape) {
      out.begin_array();
      for (const std::string& d : *t.shape) {
        out.value(d);
      }
      out.end_array();
    } else {
      out.null();
    }
    out.key("dtype").value(dtype_name(t.dtype)).key("description");
    write_optional(out, t.description);
    out.end_object();
  }
  out.end_object();
}
} // namespace

void write_definition(util::JsonWriter& out, const Definition& def) {
  out.begin_object();
  out.key("name").value(def.name).key("op_type").value(def.op_type);
  out.key("axes").begin_object();
  for (const Axis& a : def.axes) {
    out.key(a.name).begin_object();
    out.key("type").value(a.is_const ? "const" : "var");
    if (a.is_const) {
      out.key("value").value(a.value);
    }
    out.key("description");
    write_optional(out, a.description);
    out.end_object();
  }
  out.end_object();
  out.key("inputs");
  write_tensors(out, def.inputs);
  out.key("outputs");
  write_tensors(out, def.outputs);
  out.key("reference").value(def.reference);
  out.key("tags").begin_array();
  for (const std::string& t : def.tags) {
    out.value(t);
  }
  out.end_array();
  out.key("description");
  write_optional(out, def.description);
  out.key("constraints").begin_array();
  for (const std::string& c : def.constraints) {
    out.value(c);
  }
  out.end_array();
  out.end_object();
}

} // namespace fibkit::core
