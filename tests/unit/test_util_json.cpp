// Tests for the JSON layer (include/fibkit/util/json_{reader,writer}.hpp): pydantic's float and
// string formatting, the writer's compact and indented layouts, and the reader's error messages
// (file:line, JSON path), duplicate keys, lax integers and bare NaN/Infinity tokens.
#include "fibkit/util/error.hpp"
#include "fibkit/util/json_reader.hpp"
#include "fibkit/util/json_writer.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using fibkit::testing::error_of;
using fibkit::util::format_json_double;
using fibkit::util::json_path_index;
using fibkit::util::json_path_member;
using fibkit::util::JsonOrigin;
using fibkit::util::JsonValue;
using fibkit::util::JsonWriter;
using fibkit::util::k_bare_nonfinite_prefix;
using fibkit::util::parse_json;
using fibkit::util::quote_json_string;

TEST_CASE("format_json_double matches pydantic's float spelling", "[util][json]") {
  const std::vector<std::pair<double, std::string>> table{
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {1.0, "1.0"},
      {-1.0, "-1.0"},
      {0.1, "0.1"},
      {0.30000000000000004, "0.30000000000000004"},
      {1e-4, "0.0001"},
      {1e-5, "0.00001"},
      {1.25e-5, "0.0000125"},
      {-1e-5, "-0.00001"},
      {1e-6, "1e-6"},
      {1.5e-7, "1.5e-7"},
      {-2.5e-10, "-2.5e-10"},
      {2.5, "2.5"},
      {100.0, "100.0"},
      {123.456, "123.456"},
      {123456789.123, "123456789.123"},
      {1e15, "1000000000000000.0"},
      {9999999999999998.0, "9999999999999998.0"},
      {1e16, "1e+16"},
      {-1e16, "-1e+16"},
      {1.2345678901234568e16, "1.2345678901234568e+16"},
      {1e21, "1e+21"},
      {1e100, "1e+100"},
      {5e-324, "5e-324"},
      {std::numeric_limits<double>::max(), "1.7976931348623157e+308"},
      {std::numeric_limits<double>::lowest(), "-1.7976931348623157e+308"},
      {0.1352337788608801, "0.1352337788608801"},
      {0.08838834764831843, "0.08838834764831843"},
  };
  for (const auto& [value, expected] : table) {
    INFO("value " << expected);
    CHECK(format_json_double(value) == expected);
  }
}

TEST_CASE("format_json_double refuses non-finite values and round-trips random doubles",
          "[util][json]") {
  CHECK_THROWS_AS(format_json_double(std::numeric_limits<double>::infinity()),
                  std::invalid_argument);
  CHECK_THROWS_AS(format_json_double(-std::numeric_limits<double>::infinity()),
                  std::invalid_argument);
  CHECK_THROWS_AS(format_json_double(std::numeric_limits<double>::quiet_NaN()),
                  std::invalid_argument);

  std::mt19937_64 rng(20260325);
  std::uniform_int_distribution<std::uint64_t> bits;
  for (int i = 0; i < 20000; ++i) {
    std::uint64_t raw = bits(rng);
    double value = 0;
    static_assert(sizeof raw == sizeof value);
    std::memcpy(&value, &raw, sizeof value);
    if (!std::isfinite(value)) {
      continue;
    }
    const std::string text = format_json_double(value);
    INFO("text " << text);
    // Always a JSON float: a fraction or an exponent, never a bare integer.
    REQUIRE(text.find_first_of(".e") != std::string::npos);
    REQUIRE(std::strtod(text.c_str(), nullptr) == value);
    REQUIRE(std::signbit(std::strtod(text.c_str(), nullptr)) == std::signbit(value));
  }
}

TEST_CASE("quote_json_string escapes like serde_json", "[util][json]") {
  CHECK(quote_json_string("") == "\"\"");
  CHECK(quote_json_string("plain") == "\"plain\"");
  CHECK(quote_json_string("a\"b") == "\"a\\\"b\"");
  CHECK(quote_json_string("back\\slash") == "\"back\\\\slash\"");
  CHECK(quote_json_string("\b\f\n\r\t") == "\"\\b\\f\\n\\r\\t\"");
  CHECK(quote_json_string(std::string_view("\0", 1)) == "\"\\u0000\"");
  CHECK(quote_json_string("\x01\x1f") == "\"\\u0001\\u001f\"");
  // Not escaped: '/', DEL and non-ASCII UTF-8 (kept as raw bytes).
  CHECK(quote_json_string("a/b") == "\"a/b\"");
  CHECK(quote_json_string("\x7f") == "\"\x7f\"");
  CHECK(quote_json_string("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x9a\x80") ==
        "\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x9a\x80\"");
}

namespace {

void write_sample(JsonWriter& out) {
  out.begin_object();
  out.key("a").value(1);
  out.key("b").begin_array().value(std::int64_t{-2}).value(2.5).begin_object();
  out.key("c").null();
  out.end_object().end_array();
  out.key("e").begin_array().end_array();
  out.key("f").begin_object().end_object();
  out.key("g").value(true).key("h").value("s");
  out.end_object();
}

} // namespace

TEST_CASE("JsonWriter: compact and indent=2 layouts", "[util][json]") {
  JsonWriter compact;
  write_sample(compact);
  CHECK(compact.str() == R"({"a":1,"b":[-2,2.5,{"c":null}],"e":[],"f":{},"g":true,"h":"s"})");

  JsonWriter pretty(2);
  write_sample(pretty);
  CHECK(pretty.str() == "{\n"
                        "  \"a\": 1,\n"
                        "  \"b\": [\n"
                        "    -2,\n"
                        "    2.5,\n"
                        "    {\n"
                        "      \"c\": null\n"
                        "    }\n"
                        "  ],\n"
                        "  \"e\": [],\n"
                        "  \"f\": {},\n"
                        "  \"g\": true,\n"
                        "  \"h\": \"s\"\n"
                        "}");

  JsonWriter empty_object(2);
  empty_object.begin_object().end_object();
  CHECK(empty_object.str() == "{}");
  JsonWriter empty_array(2);
  empty_array.begin_array().end_array();
  CHECK(empty_array.str() == "[]");
  JsonWriter nested(2);
  nested.begin_array().begin_array().end_array().begin_object().end_object().end_array();
  CHECK(nested.str() == "[\n  [],\n  {}\n]");
}

TEST_CASE("JsonWriter: scalars, integer limits, inf/NaN strings and raw splices", "[util][json]") {
  JsonWriter out;
  out.begin_array();
  out.value(std::numeric_limits<std::int64_t>::min());
  out.value(std::numeric_limits<std::uint64_t>::max());
  out.value(false);
  out.value_inf_nan_strings(std::numeric_limits<double>::infinity());
  out.value_inf_nan_strings(-std::numeric_limits<double>::infinity());
  out.value_inf_nan_strings(std::numeric_limits<double>::quiet_NaN());
  out.value_inf_nan_strings(0.5);
  out.value_inf_nan_null(std::numeric_limits<double>::infinity());
  out.value_inf_nan_null(std::numeric_limits<double>::quiet_NaN());
  out.value_inf_nan_null(-0.0);
  out.raw(R"({"k":[1]})");
  out.value(std::string("str"));
  out.end_array();
  CHECK(out.str() == R"([-9223372036854775808,18446744073709551615,false,"Infinity","-Infinity",)"
                     R"("NaN",0.5,null,null,-0.0,{"k":[1]},"str"])");

  // A refused double leaves the output untouched (no dangling comma).
  JsonWriter partial;
  partial.begin_array().value(1);
  CHECK_THROWS_AS(partial.value(std::numeric_limits<double>::infinity()), std::invalid_argument);
  partial.value(2).end_array();
  CHECK(partial.str() == "[1,2]");

  JsonWriter taken;
  taken.value("x");
  CHECK(taken.take() == "\"x\"");
}

TEST_CASE("JsonWriter: misuse throws std::logic_error", "[util][json]") {
  {
    JsonWriter out;
    out.begin_object();
    CHECK_THROWS_AS(out.value(1), std::logic_error); // a value needs a key first
  }
  {
    JsonWriter out;
    out.begin_object();
    CHECK_THROWS_AS(out.begin_array(), std::logic_error);
  }
  {
    JsonWriter out;
    CHECK_THROWS_AS(out.key("k"), std::logic_error); // a key outside any object
  }
  {
    JsonWriter out;
    out.begin_array();
    CHECK_THROWS_AS(out.key("k"), std::logic_error); // a key inside an array
  }
  {
    JsonWriter out;
    out.begin_object().key("a");
    CHECK_THROWS_AS(out.key("b"), std::logic_error); // two keys in a row
  }
  {
    JsonWriter out;
    out.begin_object().key("a");
    CHECK_THROWS_AS(out.end_object(), std::logic_error); // a key without its value
  }
  {
    JsonWriter out;
    CHECK_THROWS_AS(out.end_object(), std::logic_error);
    CHECK_THROWS_AS(out.end_array(), std::logic_error);
  }
  {
    JsonWriter out;
    out.begin_array();
    CHECK_THROWS_AS(out.end_object(), std::logic_error);
  }
  {
    JsonWriter out;
    out.begin_object();
    CHECK_THROWS_AS(out.end_array(), std::logic_error);
  }
}

TEST_CASE("JsonValue: errors name file:line and the JSON path", "[util][json]") {
  fibkit::util::JsonParser parser;
  const JsonValue root =
      parse_json(parser,
                 R"({"workload":{"axes":{"M":"x","F":1.5,"B":18446744073709551615},)"
                 R"("list":[1,"two",""]}})",
                 {"x.jsonl", 3});
  const JsonValue axes = root.at("workload").at("axes");
  CHECK(axes.path() == "$.workload.axes");
  CHECK(axes.location() == "x.jsonl:3: $.workload.axes");
  CHECK(error_of([&] { (void)axes.at("M").as_int(); }) ==
        "x.jsonl:3: $.workload.axes.M: expected an integer, got string");
  CHECK(error_of([&] { (void)axes.at("F").as_int(); }) ==
        "x.jsonl:3: $.workload.axes.F: expected an integer, got the fraction 1.5");
  CHECK(error_of([&] { (void)axes.at("B").as_int(); }) ==
        "x.jsonl:3: $.workload.axes.B: integer out of range");
  CHECK(error_of([&] { (void)axes.at("N"); }) ==
        "x.jsonl:3: $.workload.axes: missing required key \"N\"");
  CHECK(error_of([&] { (void)axes.at("M").as_double(); }) ==
        "x.jsonl:3: $.workload.axes.M: expected a number, got string");
  CHECK(error_of([&] { (void)axes.at("M").as_bool(); }) ==
        "x.jsonl:3: $.workload.axes.M: expected a boolean, got string");
  CHECK(error_of([&] { (void)axes.at("F").as_string(); }) ==
        "x.jsonl:3: $.workload.axes.F: expected a string, got number");
  CHECK(error_of([&] { (void)axes.items(); }) ==
        "x.jsonl:3: $.workload.axes: expected an array, got object");
  const std::vector<JsonValue> list = root.at("workload").at("list").items();
  REQUIRE(list.size() == 3);
  CHECK(list[1].path() == "$.workload.list[1]");
  CHECK(error_of([&] { (void)list[0].at("k"); }) ==
        "x.jsonl:3: $.workload.list[0]: expected an object, got integer");
  CHECK(error_of([&] { (void)list[2].as_nonempty_string(); }) ==
        "x.jsonl:3: $.workload.list[2]: must be a non-empty string");
  CHECK(list[1].as_nonempty_string() == "two");

  // A whole-file document (line 0) names only the file.
  fibkit::util::JsonParser file_parser;
  const JsonValue whole = parse_json(file_parser, R"({"a":null})", {"defs/d.json", 0});
  CHECK(error_of([&] { whole.at("a").fail("custom"); }) == "defs/d.json: $.a: custom");
  CHECK(JsonOrigin{"f", 0}.where() == "f");
  CHECK(JsonOrigin{"f", 12}.where() == "f:12");
}

TEST_CASE("JsonValue: type names and accessors", "[util][json]") {
  fibkit::util::JsonParser parser;
  const JsonValue v = parse_json(
      parser,
      R"({"o":{},"a":[],"s":"x","i":-3,"u":18446744073709551615,"d":2.0,"b":true,"n":null})",
      {"t", 0});
  CHECK(v.at("o").type_name() == "object");
  CHECK(v.at("a").type_name() == "array");
  CHECK(v.at("s").type_name() == "string");
  CHECK(v.at("i").type_name() == "integer");
  CHECK(v.at("u").type_name() == "integer");
  CHECK(v.at("d").type_name() == "number");
  CHECK(v.at("b").type_name() == "boolean");
  CHECK(v.at("n").type_name() == "null");
  CHECK(v.at("i").is_integer());
  CHECK(v.at("u").is_integer());
  CHECK_FALSE(v.at("d").is_integer());
  CHECK(v.at("d").is_number());
  CHECK(v.at("i").as_int() == -3);
  CHECK(v.at("d").as_int() == 2); // a float without fraction is an integer (pydantic)
  CHECK(v.at("i").as_double() == -3.0);
  CHECK(v.at("u").as_double() == 18446744073709551615.0);
  CHECK(v.at("b").as_bool());
  CHECK(v.has_non_null("s"));
  CHECK_FALSE(v.has_non_null("n"));
  CHECK_FALSE(v.has_non_null("missing"));
  CHECK_FALSE(v.find("missing").has_value());
  CHECK(v.at("a").items().empty());
  CHECK(v.at("o").members().empty());
  CHECK(v.at("o").minified() == "{}");
  // The exact integers: as written, no coercion.
  CHECK(v.at("i").exact_int64() == std::optional<std::int64_t>(-3));
  CHECK_FALSE(v.at("i").exact_uint64().has_value());
  CHECK_FALSE(v.at("u").exact_int64().has_value());
  CHECK(v.at("u").exact_uint64() == std::optional<std::uint64_t>(18446744073709551615u));
  CHECK_FALSE(v.at("d").exact_int64().has_value());
  CHECK_FALSE(v.at("d").exact_uint64().has_value());
  CHECK_FALSE(v.at("s").exact_int64().has_value());
  CHECK_FALSE(v.at("b").exact_uint64().has_value());
}

TEST_CASE("json_path_member quotes keys that are not identifiers", "[util][json]") {
  CHECK(json_path_member("$", "M") == "$.M");
  CHECK(json_path_member("$", "_x9") == "$._x9");
  CHECK(json_path_member("$.a", "seq_len") == "$.a.seq_len");
  CHECK(json_path_member("$", "a b") == "$[\"a b\"]");
  CHECK(json_path_member("$", "a-b") == "$[\"a-b\"]");
  CHECK(json_path_member("$", "1x") == "$[\"1x\"]");
  CHECK(json_path_member("$", "") == "$[\"\"]");
  CHECK(json_path_member("$", "q\"uote") == "$[\"q\\\"uote\"]");
  CHECK(json_path_member("$", "back\\slash") == "$[\"back\\\\slash\"]");
  CHECK(json_path_member("$", "a.b") == "$[\"a.b\"]");
  CHECK(json_path_index("$.x", 0) == "$.x[0]");
  CHECK(json_path_index("$[\"a b\"]", 12) == "$[\"a b\"][12]");

  // The quoted form reaches the error messages.
  fibkit::util::JsonParser parser;
  const JsonValue v = parse_json(parser, R"({"a-b":{"c d":"s"}})", {"k.json", 0});
  const auto members = v.at("a-b").members();
  REQUIRE(members.size() == 1);
  CHECK(error_of([&] { (void)members[0].second.as_int(); }) ==
        "k.json: $[\"a-b\"][\"c d\"]: expected an integer, got string");
}

TEST_CASE("JsonValue: duplicate keys, the last one wins at the first position", "[util][json]") {
  fibkit::util::JsonParser parser;
  const JsonValue v = parse_json(parser, R"({"a":1,"b":2,"a":3,"c":4,"b":5})", {"dup", 0});
  CHECK(v.at("a").as_int() == 3);
  CHECK(v.at("b").as_int() == 5);
  const auto members = v.members();
  REQUIRE(members.size() == 3);
  CHECK(members[0].first == "a");
  CHECK(members[0].second.as_int() == 3);
  CHECK(members[1].first == "b");
  CHECK(members[1].second.as_int() == 5);
  CHECK(members[2].first == "c");
  CHECK(members[2].second.as_int() == 4);
  CHECK(members[1].second.path() == "$.b");
}

TEST_CASE("JsonValue::as_int_lax takes pydantic's lax integer forms", "[util][json]") {
  fibkit::util::JsonParser parser;
  const JsonValue v = parse_json(
      parser,
      R"({"t":true,"f":false,"s":"8","neg":"-3","d":4.0,"i":7,"frac":"8.5","empty":"","n":null,)"
      R"("big":"99999999999999999999","word":"eight","arr":[]})",
      {"lax.jsonl", 2});
  CHECK(v.at("t").as_int_lax() == 1);
  CHECK(v.at("f").as_int_lax() == 0);
  CHECK(v.at("s").as_int_lax() == 8);
  CHECK(v.at("neg").as_int_lax() == -3);
  CHECK(v.at("d").as_int_lax() == 4);
  CHECK(v.at("i").as_int_lax() == 7);
  CHECK(error_of([&] { (void)v.at("frac").as_int_lax(); }) ==
        "lax.jsonl:2: $.frac: expected an integer, got the string \"8.5\"");
  CHECK(error_of([&] { (void)v.at("empty").as_int_lax(); }) ==
        "lax.jsonl:2: $.empty: expected an integer, got the string \"\"");
  CHECK(error_of([&] { (void)v.at("big").as_int_lax(); }) ==
        "lax.jsonl:2: $.big: expected an integer, got the string \"99999999999999999999\"");
  CHECK(error_of([&] { (void)v.at("word").as_int_lax(); }) ==
        "lax.jsonl:2: $.word: expected an integer, got the string \"eight\"");
  CHECK(error_of([&] { (void)v.at("n").as_int_lax(); }) ==
        "lax.jsonl:2: $.n: expected an integer, got null");
  CHECK(error_of([&] { (void)v.at("arr").as_int_lax(); }) ==
        "lax.jsonl:2: $.arr: expected an integer, got array");
  // Strict as_int refuses what the lax form accepts.
  CHECK(error_of([&] { (void)v.at("t").as_int(); }) ==
        "lax.jsonl:2: $.t: expected an integer, got boolean");
}

TEST_CASE("parse_json reads bare NaN/Infinity tokens as marked strings", "[util][json]") {
  fibkit::util::JsonParser parser;
  const JsonValue v =
      parse_json(parser,
                 R"({"a":NaN,"b":-Infinity,"c":Infinity,"d":[NaN, 1],"s":"NaN","t":"x Infinity",)"
                 R"("q":"say \"NaN\"","NaN":1})",
                 {"nan.json", 0});
  const std::string prefix(k_bare_nonfinite_prefix);
  CHECK(v.at("a").as_string() == prefix + "NaN");
  CHECK(v.at("b").as_string() == prefix + "-Infinity");
  CHECK(v.at("c").as_string() == prefix + "Infinity");
  const auto d = v.at("d").items();
  REQUIRE(d.size() == 2);
  CHECK(d[0].as_string() == prefix + "NaN");
  CHECK(d[1].as_int() == 1);
  // Tokens inside strings (also after an escaped quote) and keys are left alone.
  CHECK(v.at("s").as_string() == "NaN");
  CHECK(v.at("t").as_string() == "x Infinity");
  CHECK(v.at("q").as_string() == "say \"NaN\"");
  CHECK(v.at("NaN").as_int() == 1);
  // The marker is not JSON-visible text: it starts with a control character.
  CHECK(prefix.front() == '\x01');
}

TEST_CASE("parse_json: invalid JSON names the origin", "[util][json]") {
  fibkit::util::JsonParser parser;
  const std::string truncated = error_of([&] {
    (void)parse_json(parser, R"({"a":)", {"w.jsonl", 7});
  });
  CHECK_THAT(truncated, Catch::StartsWith("w.jsonl:7:6: invalid JSON: "));
  const std::string whole = error_of([&] { (void)parse_json(parser, "{]", {"d.json", 0}); });
  CHECK_THAT(whole, Catch::StartsWith("d.json:1:2: invalid JSON: "));
  // A bare token does not rescue a document that is broken elsewhere.
  const std::string broken_nan = error_of([&] {
    (void)parse_json(parser, R"({"a":NaN,})", {"n.jsonl", 1});
  });
  CHECK_THAT(broken_nan, Catch::StartsWith("n.jsonl:1:10: invalid JSON: "));
  CHECK_THAT(error_of([&] {
               (void)parse_json(parser, "", {"e.json", 0});
             }),
             Catch::StartsWith("e.json:1:1: invalid JSON: "));
  CHECK_THAT(error_of([&] {
               (void)parse_json(parser, "nan", {"l.json", 0});
             }),
             Catch::StartsWith("l.json:1:2: invalid JSON: "));
  // The parser is still usable after an error.
  CHECK(parse_json(parser, "[1]", {"ok", 0}).items().size() == 1);
}

TEST_CASE("parse_json: a syntax error in a whole file names its line and column", "[util][json]") {
  fibkit::util::JsonParser parser;
  CHECK_THAT(error_of([&] {
               (void)parse_json(parser, "{\n  \"a\": 1,\n  \"b\": [1, 2,]\n}", {"d.json", 0});
             }),
             Catch::StartsWith("d.json:3:14: invalid JSON: "));
  CHECK_THAT(error_of([&] {
               (void)parse_json(parser, "{\"a\": \"\u00e9\u00e9\" \"b\"}", {"d.json", 0});
             }),
             Catch::StartsWith("d.json:1:"));
  CHECK_THAT(error_of([&] {
               (void)parse_json(parser, "[1]", {"h", 0, false});
               (void)parse_json(parser, "[1", {"h", 0, false});
             }),
             Catch::StartsWith("h: invalid JSON: "));
  CHECK(!fibkit::util::json_error_position("{\"a\": [1, -2.5e3, NaN, -Infinity, \"\\u00e9\"]}"));
  CHECK(fibkit::util::json_error_position("[1,\n 01]") ==
        std::make_pair<std::size_t, std::size_t>(2, 3));
}

TEST_CASE("random strings round-trip through JsonWriter and parse_json", "[util][json]") {
  std::mt19937 rng(4242);
  // Pieces: every ASCII byte (control characters included) and UTF-8 sequences of 2-4 bytes.
  std::vector<std::string> pieces;
  for (int c = 0; c < 0x80; ++c) {
    pieces.emplace_back(1, static_cast<char>(c));
  }
  for (const char* utf8 : {"\xc3\xa9", "\xce\xbb", "\xe2\x9c\x93", "\xe4\xb8\xad", "\xef\xbf\xbd",
                           "\xf0\x9f\x9a\x80", "\xf4\x8f\xbf\xbf", "\xe2\x80\xa8"}) {
    pieces.emplace_back(utf8);
  }
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<int> length(0, 24);
  for (int indent : {0, 2}) {
    std::vector<std::string> strings;
    for (int i = 0; i < 300; ++i) {
      std::string s;
      for (int n = length(rng); n > 0; --n) {
        s += pieces[pick(rng)];
      }
      strings.push_back(s);
    }
    JsonWriter out(indent);
    out.begin_object();
    for (std::size_t i = 0; i < strings.size(); ++i) {
      // Keys get an index suffix so that duplicates cannot collapse.
      out.key(strings[i] + "#" + std::to_string(i)).value(strings[i]);
    }
    out.end_object();
    fibkit::util::JsonParser parser;
    const JsonValue parsed = parse_json(parser, out.str(), {"roundtrip", 0});
    const auto members = parsed.members();
    REQUIRE(members.size() == strings.size());
    for (std::size_t i = 0; i < strings.size(); ++i) {
      INFO("string " << i << " indent " << indent);
      CHECK(members[i].first == strings[i] + "#" + std::to_string(i));
      CHECK(members[i].second.as_string() == strings[i]);
    }
  }
}
