// Values print as Python prints them; JSON converts both ways as Python's
// json module does.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "engine/chat/json.h"
#include "engine/chat/value.h"

using engine::jinja::Dict;
using engine::jinja::FormatFloat;
using engine::jinja::List;
using engine::jinja::Repr;
using engine::jinja::ToJson;
using engine::jinja::ToStr;
using engine::jinja::Value;
using engine::jinja::ValueFromJson;

TEST_CASE("Floats print as Python's repr: shortest round-trip digits, scientific outside 1e-4..1e16") {
  CHECK(FormatFloat(1.0) == "1.0");
  CHECK(FormatFloat(-0.0) == "-0.0");
  CHECK(FormatFloat(0.1) == "0.1");
  CHECK(FormatFloat(123.456) == "123.456");
  CHECK(FormatFloat(1e16) == "1e+16");
  CHECK(FormatFloat(1e15) == "1000000000000000.0");
  CHECK(FormatFloat(0.0001) == "0.0001");
  CHECK(FormatFloat(0.00001) == "1e-05");
  CHECK(FormatFloat(1.5e-7) == "1.5e-07");
  CHECK(FormatFloat(5e-324) == "5e-324");
  CHECK(FormatFloat(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(FormatFloat(std::nan("")) == "nan");
}

TEST_CASE("repr quotes strings as Python does") {
  CHECK(Repr(Value::String("plain")) == "'plain'");
  CHECK(Repr(Value::String("it's")) == "\"it's\"");
  CHECK(Repr(Value::String("both ' and \"")) == "'both \\' and \"'");
  CHECK(Repr(Value::String("tab\t nl\n bell\x07 del\x7f")) == "'tab\\t nl\\n bell\\x07 del\\x7f'");
  CHECK(Repr(Value::String("é 世 🚀 nbsp\u00a0 zwsp\u200b")) == "'é 世 🚀 nbsp\\xa0 zwsp\\u200b'");
}

TEST_CASE("Truth, equality and type names are Python's") {
  CHECK_FALSE(Truthy(Value()));
  CHECK_FALSE(Truthy(Value::String("")));
  CHECK(Truthy(Value::MakeList({Value::None()})));
  CHECK(Equals(Value::Int(1), Value::Float(1.0)));
  CHECK(Equals(Value::Bool(true), Value::Int(1)));
  CHECK_FALSE(Equals(Value::MakeList({}), Value::MakeTuple({})));
  CHECK(TypeName(Value::None()) == "NoneType");
  CHECK(ToStr(Value::Undefined("'x' is undefined")) == "");
}

TEST_CASE("JSON becomes values with object keys in document order") {
  auto v = ValueFromJson(R"({"z": 1, "a": [true, null, 2.5, "s"], "m": {"k": -3}})");
  REQUIRE(v.ok());
  CHECK(ToStr(*v) == "{'z': 1, 'a': [True, None, 2.5, 's'], 'm': {'k': -3}}");
  CHECK(v->as_dict().Find("a")->as_items()[2].is_float());
  auto big = ValueFromJson("18446744073709551615");
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().code() == cluster::StatusCode::kUnimplemented);
  auto bad = ValueFromJson("{\"a\": }");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().rfind("invalid JSON: ", 0) == 0);
}

TEST_CASE("ToJson is Python's json.dumps byte for byte") {
  auto v = ValueFromJson(R"({"b": [1, 1.0, "é\u0001\"\\"], "a": {}, "c": []})");
  REQUIRE(v.ok());
  CHECK(*ToJson(*v) == "{\"b\": [1, 1.0, \"é\\u0001\\\"\\\\\"], \"a\": {}, \"c\": []}");
  engine::jinja::JsonOptions pretty;
  pretty.indent = "  ";
  pretty.sort_keys = true;
  CHECK(*ToJson(*v, pretty) == "{\n  \"a\": {},\n  \"b\": [\n    1,\n    1.0,\n    \"é\\u0001\\\"\\\\\"\n  ],\n  \"c\": []\n}");
  engine::jinja::JsonOptions ascii;
  ascii.ensure_ascii = true;
  CHECK(*ToJson(Value::String("é🚀\x7f"), ascii) == "\"\\u00e9\\ud83d\\ude80\\u007f\"");
  CHECK(*ToJson(Value::Float(std::numeric_limits<double>::infinity())) == "Infinity");
  auto undefined = ToJson(Value());
  REQUIRE_FALSE(undefined.ok());
  CHECK(undefined.status().message() == "Object of type Undefined is not JSON serializable");
}

TEST_CASE("A namespace is shared by its copies, lists and dicts are values") {
  Value ns = Value::MakeNamespace(Dict());
  Value copy = ns;
  copy.namespace_attributes().Set("x", Value::Int(1));
  CHECK(ns.namespace_attributes().Find("x")->as_int() == 1);
  Dict d;
  d.Set("k", Value::Int(1));
  d.Set("k", Value::Int(2));
  CHECK(d.size() == 1);
  CHECK(d.Find("k")->as_int() == 2);
}
