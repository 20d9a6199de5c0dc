// Expressions evaluate as Python's Jinja2 evaluates them: Python's printing,
// arithmetic, comparisons, truth and Jinja's Undefined.
#include <catch2/catch.hpp>

#include "render_helpers.h"

using chat_test::Render;
using chat_test::RenderError;
using cluster::StatusCode;

TEST_CASE("Values print as Python's str(): None, True, float repr, list and dict repr") {
  CHECK(Render("{{ none }}|{{ true }}|{{ False }}|{{ 1.0 }}|{{ 1e20 }}|{{ 0.1 + 0.2 }}|{{ 1e-5 }}|{{ 2.5e-3 }}") ==
        "None|True|False|1.0|1e+20|0.30000000000000004|1e-05|0.0025");
  CHECK(Render("{{ [1, 'a', none, true, 1.5] }}|{{ {'a': 1, 'b': 'x'} }}|{{ (1,) }}|{{ (1, 'b') }}") ==
        "[1, 'a', None, True, 1.5]|{'a': 1, 'b': 'x'}|(1,)|(1, 'b')");
  CHECK(Render(R"({{ ["it's"] }}|{{ ['say "hi"', 'both \' "'] }}|{{ ['new\nline'] }})") ==
        R"(["it's"]|['say "hi"', 'both \' "']|['new\nline'])");
  CHECK(Render("{% set ns = namespace(a=1) %}{{ ns }}") == "<Namespace {'a': 1}>");
}

TEST_CASE("An undefined name prints as nothing and is false") {
  CHECK(Render("[{{ missing }}]") == "[]");
  CHECK(Render("{{ missing ~ 'x' }} {{ missing | length }} [{% for x in missing %}{{ x }}{% endfor %}]") == "x 0 []");
  CHECK(Render("{% if missing %}yes{% else %}no{% endif %} {{ missing is defined }}") == "no False");
  CHECK(Render("[{{ 'x' if false }}]") == "[]");
}

TEST_CASE("Using an undefined value as a value fails the way Jinja2 does") {
  auto attribute = RenderError("{{ missing.attr }}");
  CHECK(attribute.code() == StatusCode::kInvalidArgument);
  CHECK(attribute.message() == "1:4: 'missing' is undefined");
  CHECK(RenderError("{{ missing + 1 }}").message() == "1:12: 'missing' is undefined");
  CHECK(RenderError("{{ missing() }}").message() == "1:4: 'missing' is undefined");
  CHECK(RenderError("{{ missing[0] }}").message() == "1:4: 'missing' is undefined");
  CHECK(RenderError("{{ missing | tojson }}").message() == "1:14: Object of type Undefined is not JSON serializable");
}

TEST_CASE("A missing key or index is undefined, using it names what was missing") {
  CHECK(Render("[{{ d.missing }}][{{ d['missing'] }}][{{ [1][5] }}]", R"({"d": {}})") == "[][][]");
  CHECK(RenderError("{{ d.missing.x }}", R"({"d": {}})").message() ==
        "1:4: 'dict object' has no attribute 'missing'");
  CHECK(RenderError("{{ [1][5].x }}").message() == "1:4: list object has no element 5");
  CHECK(RenderError("{{ ('a' | first).x.y }}").message() == "1:11: 'str object' has no attribute 'x'");
}

TEST_CASE("Arithmetic is Python's: floor division, modulo sign, true division, repetition") {
  CHECK(Render("{{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 8 / 2 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}") ==
        "-4 2 3.5 4.0 0.5 3.0 0.5");
  CHECK(Render("{{ 'ab' * 3 }} {{ 3 * [0] }} {{ true + 1 }} {{ [1] + [2] }} {{ 'a' + 'b' }}") ==
        "ababab [0, 0, 0] 2 [1, 2] ab");
  CHECK(Render("{{ 'n=' ~ 2 * 3 }} {{ 1 ~ none ~ true }}") == "n=6 1NoneTrue");
}

TEST_CASE("Arithmetic type errors and division by zero fail with Python's message") {
  CHECK(RenderError("{{ 1 + 'a' }}").message() == "1:6: unsupported operand type(s) for +: 'int' and 'str'");
  CHECK(RenderError("{{ 'a' + 1 }}").message() == "1:8: can only concatenate str (not \"int\") to str");
  CHECK(RenderError("{{ 1 / 0 }}").message() == "1:6: division by zero");
  CHECK(RenderError("{{ 1 // 0 }}").message() == "1:6: integer division or modulo by zero");
  CHECK(RenderError("{{ '%s' % 1 }}").code() == StatusCode::kUnimplemented);
  CHECK(RenderError("{{ 9223372036854775807 + 1 }}").code() == StatusCode::kUnimplemented);
}

TEST_CASE("Precedence: filters bind tighter than arithmetic, power is left-associative, unary minus binds tightest") {
  CHECK(Render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }}") == "7 9 64 4");
  CHECK(Render("{{ 'ab' | length + 1 }} {{ -1 | abs }} {{ 'a' ~ 'b' | upper }}") == "3 1 aB");
  CHECK(Render("{{ not 1 == 2 }} {{ not true and false }}") == "True False");
}

TEST_CASE("Comparisons chain, == compares numbers across int, float and bool, and containers by content") {
  CHECK(Render("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ true == 1 }}") == "True False True True");
  CHECK(Render("{{ [1, 2] == [1, 2] }} {{ (1, 2) == [1, 2] }} {{ {'a': 1} == {'a': 1} }} {{ 'a' != 'b' }}") ==
        "True False True True");
  CHECK(Render("{{ 'apple' < 'banana' }} {{ [1, 2] < [1, 3] }}") == "True True");
  CHECK(RenderError("{{ 1 < 'a' }}").message() == "1:4: '<' not supported between instances of 'int' and 'str'");
}

TEST_CASE("in and not in test substrings, list members and dict keys") {
  CHECK(Render("{{ 'ell' in 'hello' }} {{ 2 in [1, 2] }} {{ 'a' in {'a': 1} }} {{ 'b' not in {'a': 1} }}") ==
        "True True True True");
  CHECK(Render("{{ 'x' in missing }}") == "False");
  CHECK(RenderError("{{ 1 in 'abc' }}").message() == "1:4: 'in <string>' requires string as left operand, not int");
  CHECK(RenderError("{{ 'a' in none }}").message() == "1:4: argument of type 'NoneType' is not iterable");
}

TEST_CASE("and/or return one of their operands, inline if-else chains") {
  CHECK(Render("{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ [] or 'empty' }} {{ none or 0 }}") == "x b empty 0");
  CHECK(Render("{{ 'a' if false else 'b' if true else 'c' }}") == "b");
  CHECK(Render("{{ 'yes' if [0] else 'no' }} {{ 'yes' if {} else 'no' }} {{ 'yes' if 0.0 else 'no' }}") ==
        "yes no no");
}

TEST_CASE("Subscripts: negative indices, slices with steps, attribute-style integer index") {
  CHECK(Render("{% set xs = [0, 1, 2, 3, 4, 5] %}{{ xs[-1] }} {{ xs.0 }} {{ xs[1:3] }} {{ xs[::-2] }} {{ xs[-2:] }}") ==
        "5 0 [1, 2] [5, 3, 1] [4, 5]");
  CHECK(Render("{{ 'héllo'[1] }} {{ 'héllo'[-1] }} {{ 'héllo'[1:3] }} {{ 'héllo'[::-1] }} {{ 'a🚀b'[1] }}") ==
        "é o él olléh 🚀");
  CHECK(Render("{{ (1, 2, 3)[1:] }} {{ [1, 2][5:] }}") == "(2, 3) []");
  CHECK(RenderError("{{ [1][::0] }}").message() == "1:4: slice step cannot be zero");
  CHECK(RenderError("{{ n[1:] }}", R"({"n": 5})").message() == "1:4: 'int' object is not subscriptable");
}

TEST_CASE("Dict keys are reached by attribute or subscript, dict methods win over keys for attributes") {
  CHECK(Render("{{ {'a': 1}.a }} {{ {'items': 1}['items'] }} {{ {'a': 1}.get('a') }}") == "1 1 1");
  CHECK(Render("{% set ns = namespace(x=1) %}{{ ns['x'] }} {{ ns.x }}") == "1 1");
  CHECK(Render("{% for k, v in d.items() %}{{ k }}={{ v }}{% endfor %}", R"({"d": {"items": 7}})") == "items=7");
}

TEST_CASE("Calling something that is not callable fails") {
  CHECK(RenderError("{{ 'x'() }}").message() == "1:4: 'str' object is not callable");
  CHECK(RenderError("{{ {'a': 1}.a() }}").message() == "1:4: 'int' object is not callable");
}
