// Filters, with Jinja2's semantics and HF's tojson (Python's json.dumps).
#include <catch2/catch.hpp>

#include "render_helpers.h"

using chat_test::Render;
using chat_test::RenderError;
using cluster::StatusCode;

TEST_CASE("trim strips Unicode whitespace, or the given characters") {
  CHECK(Render("[{{ '  padded \\n\\t' | trim }}][{{ '\u3000wide\u00a0' | trim }}][{{ 'xxhixx' | trim('x') }}]") ==
        "[padded][wide][hi]");
  CHECK(Render("[{{ missing | trim }}][{{ 42 | trim }}]") == "[][42]");
}

TEST_CASE("length and count count characters, items and keys") {
  CHECK(Render("{{ 'héllo🚀' | length }} {{ [1, 2] | count }} {{ {'a': 1} | length }} {{ missing | length }}") ==
        "6 2 1 0");
  CHECK(RenderError("{{ 5 | length }}").message() == "1:8: object of type 'int' has no len()");
}

TEST_CASE("tojson is Python's json.dumps with HF's defaults: ', ' and ': ' separators, no ASCII escaping") {
  CHECK(Render("{{ {'name': 'x', 'args': [1, 2.5, true, none], 'd': {}} | tojson }}") ==
        R"({"name": "x", "args": [1, 2.5, true, null], "d": {}})");
  CHECK(Render("{{ 'café 😀 \"q\" \\\\ \\n \\x01' | tojson }}") == R"("café 😀 \"q\" \\ \n \u0001")");
  CHECK(Render("{{ 'café 😀' | tojson(ensure_ascii=true) }}") == R"("caf\u00e9 \ud83d\ude00")");
  CHECK(Render("{{ {'b': [1], 'a': {}} | tojson(indent=2) }}") == "{\n  \"b\": [\n    1\n  ],\n  \"a\": {}\n}");
  CHECK(Render("{{ {'b': 1, 'a': 2} | tojson(sort_keys=true, separators=(',', ':')) }}") == R"({"a":2,"b":1})");
  CHECK(Render("{{ 1.0 | tojson }} {{ (1, 2) | tojson }} {{ 'x' | tojson(indent='\t') }}") == "1.0 [1, 2] \"x\"");
}

TEST_CASE("tojson refuses what Python cannot serialize") {
  CHECK(RenderError("{% set ns = namespace() %}{{ ns | tojson }}").message() ==
        "1:35: Object of type Namespace is not JSON serializable");
}

TEST_CASE("Case filters: upper, lower, capitalize, title (Jinja's word rules)") {
  CHECK(Render("{{ 'Héllo' | upper }} {{ 'ÀB' | lower }} {{ 'hELLO wORLD' | capitalize }}") ==
        "HÉLLO àb Hello world");
  CHECK(Render("{{ 'hello big-world (of) o\\'neil' | title }}") == "Hello Big-World (Of) O'neil");
  CHECK(Render("{{ 'straße' | upper }}") == "STRASSE");
}

TEST_CASE("default replaces undefined values, and with boolean=true any false value") {
  CHECK(Render("{{ missing | default('fallback') }} [{{ '' | default('x') }}] {{ '' | default('x', true) }} "
               "{{ none | d('n', boolean=true) }} {{ 0 | default(5) }}") == "fallback [] x n 0");
}

TEST_CASE("join, first, last, list, reverse, sort") {
  CHECK(Render("{{ ['a', 'b'] | join(', ') }} {{ [1, 2] | join }} {{ [{'n': 'x'}, {'n': 'y'}] | join('+', attribute='n') }}") ==
        "a, b 12 x+y");
  CHECK(Render("{{ [1, 2, 3] | first }}{{ [1, 2, 3] | last }} {{ 'abc' | first }}{{ 'abc' | last }} "
               "{{ {'k': 1, 'j': 2} | first }} [{{ [] | first }}]") == "13 ac k []");
  CHECK(Render("{{ 'ab' | list }} {{ {'k': 1} | list }} {{ [3, 1] | reverse | list }} {{ 'abc' | reverse }}") ==
        "['a', 'b'] ['k'] [1, 3] cba");
  CHECK(Render("{{ ['b', 'a', 'B'] | sort | join }} {{ ['b', 'a', 'B'] | sort(case_sensitive=true) | join }} "
               "{{ [3, 1, 2] | sort(reverse=true) | join }}") == "abB Bab 321");
  CHECK(Render("{{ [{'n': 2}, {'n': 1}] | sort(attribute='n') | map(attribute='n') | join }}") == "12");
  CHECK(RenderError("{{ [1, 'a'] | sort }}").message() ==
        "1:15: '<' not supported between instances of 'str' and 'int'");
}

TEST_CASE("items turns a dict into (key, value) pairs") {
  CHECK(Render("{% for k, v in {'x': 1, 'y': 2} | items %}{{ k }}{{ v }}{% endfor %}") == "x1y2");
  CHECK(Render("[{% for k, v in missing | items %}{{ k }}{% endfor %}]") == "[]");
  CHECK(RenderError("{{ [1] | items }}").message() == "1:10: Can only get item pairs from a mapping.");
}

TEST_CASE("select, reject, selectattr, rejectattr and map filter sequences") {
  const char* messages = R"({"ms": [{"role": "user", "c": "a"}, {"role": "tool", "c": ""}, {"role": "user", "c": "b"}]})";
  CHECK(Render("{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='c') | join }}", messages) == "ab");
  CHECK(Render("{{ ms | rejectattr('role', '==', 'user') | map(attribute='role') | join }}", messages) == "tool");
  CHECK(Render("{{ ms | selectattr('c') | list | length }}", messages) == "2");
  CHECK(Render("{{ [1, 2, 3, 4] | select('odd') | join }} {{ [1, 2, 3, 4] | reject('divisibleby', 2) | join }}") ==
        "13 13");
  CHECK(Render("{{ ['a', 'b'] | map('upper') | join }} {{ [{'a': 1}, {}] | map(attribute='a', default=0) | join }}") ==
        "AB 10");
  CHECK(RenderError("{{ [1] | select('blue') | list }}").message() ==
        "1:10: select(): unknown or unsupported test 'blue'");
}

TEST_CASE("replace, indent, string, int, float, abs, safe") {
  CHECK(Render("{{ 'a-b-c' | replace('-', '+') }} {{ 'aaa' | replace('a', 'b', 2) }}") == "a+b+c bba");
  CHECK(Render("{{ 'one\\ntwo\\n\\nfour' | indent(2) }}|{{ 'a\\nb' | indent('> ', first=true) }}|"
               "{{ 'a\\n\\nb' | indent(1, blank=true) }}") == "one\n  two\n\n  four|> a\n> b|a\n \n b");
  CHECK(Render("{{ 42 | string }} {{ none | string }} {{ [1] | string }}") == "42 None [1]");
  CHECK(Render("{{ '42' | int + 1 }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} "
               "{{ true | int }}") == "43 4 0 7 3 1");
  CHECK(Render("{{ '2.5' | float * 2 }} {{ 'x' | float }} {{ 3 | float }}") == "5.0 0.0 3.0");
  CHECK(Render("{{ -3 | abs }} {{ -2.5 | abs }} {{ '<b>' | safe }}") == "3 2.5 <b>");
}
