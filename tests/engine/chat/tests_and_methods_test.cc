// Jinja's tests (`x is defined`) and the str/dict methods templates call,
// with Python's answers.
#include <catch2/catch.hpp>

#include "render_helpers.h"

using chat_test::Render;
using chat_test::RenderError;
using cluster::StatusCode;

TEST_CASE("Type tests answer as Python: a bool is a number, a dict is a sequence and iterable") {
  const std::string row =
      "{% for v in values %}{{ v is string }},{{ v is number }},{{ v is integer }},{{ v is float }},"
      "{{ v is boolean }},{{ v is none }},{{ v is mapping }},{{ v is sequence }},{{ v is iterable }}|{% endfor %}";
  CHECK(Render(row, R"({"values": ["s", 1, 1.5, true, null, {"k": 1}, [1]]})") ==
        "True,False,False,False,False,False,False,True,True|"
        "False,True,True,False,False,False,False,False,False|"
        "False,True,False,True,False,False,False,False,False|"
        "False,True,False,False,True,False,False,False,False|"
        "False,False,False,False,False,True,False,False,False|"
        "False,False,False,False,False,False,True,True,True|"
        "False,False,False,False,False,False,False,True,True|");
}

TEST_CASE("defined, undefined, none, true, false, callable") {
  CHECK(Render("{{ x is defined }} {{ x is undefined }} {{ m.k is defined }} {{ m.k is not none }} "
               "{{ m.z is defined }} {{ m.z is none }}",
               R"({"m": {"k": null}})") == "False True True False False False");
  CHECK(Render("{{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ range is callable }} "
               "{{ 'x'.upper is callable }} {{ 'x' is callable }}") == "True False True False True True False");
}

TEST_CASE("Comparison tests take their argument in parentheses or after a space") {
  CHECK(Render("{{ 'user' is equalto 'user' }} {{ 2 is eq(2) }} {{ 2 is ne 3 }} {{ 3 is gt 2 }} {{ 3 is lt(2) }} "
               "{{ 2 is ge 2 }} {{ 2 is le 1 }} {{ 'a' is in 'abc' }} {{ 3 is in [1, 2] }}") ==
        "True True True True False True False True False");
  CHECK(Render("{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 10 is not divisibleby(3) }}") ==
        "True True True True");
  CHECK(Render("{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aBc' is lower }} {{ '123' is lower }}") ==
        "True True False False");
  CHECK(RenderError("{{ 'a' is odd }}").message() == "1:11: test 'odd' needs numbers, got str");
}

TEST_CASE("str.split and rsplit follow Python: a separator keeps empty fields, none splits on whitespace runs") {
  CHECK(Render("{{ 'a,b,,c'.split(',') }} {{ ' a  b\\tc '.split() }} {{ 'a,b,c'.split(',', 1) }} "
               "{{ 'a,b,c'.rsplit(',', 1) }} {{ ' a b c '.rsplit(None, 1) }}") ==
        "['a', 'b', '', 'c'] ['a', 'b', 'c'] ['a', 'b,c'] ['a,b', 'c'] [' a b', 'c']");
  CHECK(Render("{{ c.split('</think>')[-1] }}|{{ c.split('</think>')[0].split('<think>')[-1] }}",
               R"({"c": "<think>\nplan\n</think>\n\nanswer"})") == "\n\nanswer|\nplan\n");
  CHECK(RenderError("{{ 'a'.split('') }}").message() == "1:4: empty separator");
}

TEST_CASE("str.strip, lstrip and rstrip take optional characters to strip") {
  CHECK(Render("[{{ '  x  '.strip() }}][{{ '\\n x \\n'.strip('\\n') }}][{{ '\\n\\nx'.lstrip('\\n') }}]"
               "[{{ 'x\\n \\n'.rstrip('\\n') }}][{{ 'xyhixy'.strip('xy') }}]") ==
        "[x][ x ][x][x\n ][hi]");
}

TEST_CASE("str.startswith and endswith accept a tuple, replace takes a count") {
  CHECK(Render("{{ 'hello'.startswith('he') }} {{ 'a.py'.endswith(('.js', '.py')) }} {{ ''.startswith('') }}") ==
        "True True True");
  CHECK(Render("{{ 'aaaa'.replace('a', 'b', 3) }} {{ 'abc'.replace('', '-') }}") == "bbba -a-b-c-");
  CHECK(RenderError("{{ 'x'.startswith('x', 1) }}").code() == StatusCode::kUnimplemented);
}

TEST_CASE("str case methods are Python's: title capitalizes after any non-letter") {
  CHECK(Render("{{ 'MiXeD'.upper() }} {{ 'MiXeD'.lower() }} {{ \"they're bill's 1st\".title() }} "
               "{{ 'hELLO'.capitalize() }}") == "MIXED mixed They'Re Bill'S 1St Hello");
  CHECK(Render("{{ 'ǆemal'.title() }} {{ 'ΣΑΣ'.lower() }} {{ 'İ'.lower() | length }}") == "ǅemal σας 2");
}

TEST_CASE("Other str methods: join, find, count, removeprefix, removesuffix, splitlines, isspace") {
  CHECK(Render("{{ ', '.join(['a', 'b']) }} {{ 'héllo'.find('l') }} {{ 'banana'.count('an') }} "
               "{{ 'v1.2'.removeprefix('v') }} {{ 'file.txt'.removesuffix('.txt') }} {{ 'a\\nb\\r\\nc'.splitlines() }} "
               "{{ ' \\t'.isspace() }}") == "a, b 2 2 1.2 file ['a', 'b', 'c'] True");
  CHECK(RenderError("{{ ', '.join([1]) }}").message() == "1:4: sequence item 0: expected str instance, int found");
}

TEST_CASE("dict methods: get with a default, keys, values, items") {
  CHECK(Render("{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 'dflt') }} {{ d.keys() | join }} "
               "{{ d.values() | join }} {{ d.items() | list }}",
               R"({"d": {"a": 1, "b": 2}})") == "1 None dflt ab 12 [('a', 1), ('b', 2)]");
}

TEST_CASE("Methods that would mutate are refused, as in HF's immutable sandbox") {
  auto s = RenderError("{{ [1].append(2) }}");
  CHECK(s.code() == StatusCode::kPermissionDenied);
  CHECK(s.message() ==
        "1:4: access to attribute 'append' of 'list' object is unsafe (templates render in Jinja's immutable sandbox)");
  CHECK(RenderError("{{ {'a': 1}.pop('a') }}").code() == StatusCode::kPermissionDenied);
}

TEST_CASE("Method argument errors name the method") {
  CHECK(RenderError("{{ 'x'.strip(1) }}").message() == "1:4: chars must be str or None, not int");
  CHECK(RenderError("{{ 'x'.upper(1) }}").message() == "1:4: str.upper() takes at most 0 argument(s) (1 given)");
  CHECK(RenderError("{{ {}.get() }}").message() == "1:4: dict.get() missing required argument 'key'");
  CHECK(RenderError("{{ 'x'.split(sep=',', bad=1) }}").message() ==
        "1:4: str.split() got an unexpected keyword argument 'bad'");
}
