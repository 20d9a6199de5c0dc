// Statements: if, for (with loop, else, filtering, break/continue), set
// (names, unpacking, namespaces, blocks), macros, and Jinja2's scoping.
#include <catch2/catch.hpp>

#include "render_helpers.h"

using chat_test::Render;
using chat_test::RenderError;
using cluster::StatusCode;

TEST_CASE("if/elif/else picks the first true branch") {
  const char* t = "{% if n > 1 %}many{% elif n == 1 %}one{% else %}none{% endif %}";
  CHECK(Render(t, R"({"n": 3})") == "many");
  CHECK(Render(t, R"({"n": 1})") == "one");
  CHECK(Render(t, R"({"n": 0})") == "none");
}

TEST_CASE("for exposes loop.index, index0, revindex, revindex0, first, last, length, previtem, nextitem") {
  CHECK(Render("{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
               "{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}") ==
        "1032TrueFalse3|2121FalseFalse3|3210FalseTrue3|");
  CHECK(Render("{% for x in [1, 2, 3] %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }};{% endfor %}") ==
        "<1>2;1<2>3;2<3>;");
  CHECK(Render("{% for i in range(6) %}{{ loop.cycle('a', 'b', 'c') }}{% endfor %}") == "abcabc");
}

TEST_CASE("for iterates lists, strings, dict keys, and unpacks pairs") {
  CHECK(Render("{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}") == "ba");
  CHECK(Render("{% for k, v in {'b': 1, 'a': 2}.items() %}{{ k }}={{ v }};{% endfor %}") == "b=1;a=2;");
  CHECK(Render("{% for (a, b) in [[1, 2], [3, 4]] %}{{ a + b }} {% endfor %}") == "3 7 ");
  CHECK(RenderError("{% for a, b in [[1, 2], [3]] %}{{ a }}{% endfor %}").message() ==
        "1:1: not enough values to unpack (expected 2, got 1)");
  CHECK(RenderError("{% for x in 5 %}{% endfor %}").message() == "1:13: 'int' object is not iterable");
}

TEST_CASE("A loop filter drops items before counting, else renders when nothing is left") {
  CHECK(Render("{% for m in ms if m != 'system' %}{{ loop.index }}/{{ loop.length }}:{{ m }} {% endfor %}",
               R"({"ms": ["system", "user", "assistant"]})") == "1/2:user 2/2:assistant ");
  CHECK(Render("{% for m in ms if m == 'tool' %}{{ m }}{% else %}no tool{% endfor %}",
               R"({"ms": ["user"]})") == "no tool");
  CHECK(Render("{% for x in [] %}x{% else %}empty{% endfor %}") == "empty");
}

TEST_CASE("break and continue control the innermost loop") {
  CHECK(Render("{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}"
               "{{ i }}{% endfor %}") == "0134");
  CHECK(Render("{% for a in [1, 2] %}{% for b in [1, 2, 3] %}{% if b == 2 %}{% break %}{% endif %}{{ a }}{{ b }} "
               "{% endfor %}{% endfor %}") == "11 21 ");
}

TEST_CASE("Scoping as Jinja2: each loop iteration starts from the outer values, if blocks share the scope") {
  // A set inside a loop body is neither seen by the next iteration nor after the loop.
  CHECK(Render("{% set count = 1 %}{% for i in [1, 2, 3] %}{{ count }}{% set count = count + 1 %}{% endfor %}"
               "{{ count }}") == "1111");
  CHECK(Render("{% for i in [1, 2] %}{% if loop.first %}{% set x = 'a' %}{% endif %}[{{ x }}]{% endfor %}") ==
        "[a][]");
  CHECK(Render("{% for i in [1, 2] %}{% endfor %}[{{ i }}][{{ loop }}]") == "[][]");
  CHECK(Render("{% if true %}{% set y = 'kept' %}{% endif %}{{ y }}") == "kept");
}

TEST_CASE("A namespace carries state out of loops") {
  CHECK(Render("{% set ns = namespace(total=0, names=[]) %}{% for n in [1, 2, 3] %}{% set ns.total = ns.total + n %}"
               "{% set ns.names = ns.names + [n ~ ''] %}{% endfor %}{{ ns.total }} {{ ns.names | join(',') }}") ==
        "6 1,2,3");
  CHECK(Render("{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}") == "12");
  CHECK(RenderError("{% set d = {} %}{% set d.x = 1 %}").message() ==
        "1:17: cannot assign attribute on non-namespace object");
}

TEST_CASE("set assigns names, unpacks tuples and captures blocks") {
  CHECK(Render("{% set a, b = 1, 'two' %}{{ a }} {{ b }}") == "1 two");
  CHECK(Render("{% set x %}Hello {{ 'W' ~ 'orld' }}{% endset %}[{{ x }}]") == "[Hello World]");
  CHECK(Render("{% set add_generation_prompt = false %}{{ add_generation_prompt }}",
               R"({"add_generation_prompt": true})") == "False");
}

TEST_CASE("Macros take positional and keyword arguments, defaults may use earlier parameters") {
  const std::string m = "{% macro f(a, b=a ~ '!') %}{{ a }}{{ b }}{% endmacro %}";
  CHECK(Render(m + "{{ f('x') }} {{ f('x', 'y') }} {{ f(b='q', a='p') }} [{{ f() }}]") == "xx! xy pq [!]");
  CHECK(Render("{% macro greet(name) %}Hi {{ name }}{% endmacro %}{{ greet('Ann') | upper }}") == "HI ANN");
  CHECK(Render("{% set who = 'top' %}{% macro m() %}{{ who }}{% endmacro %}{{ m() }}") == "top");
}

TEST_CASE("Macro call errors name the macro") {
  CHECK(RenderError("{% macro f(a) %}{{ a }}{% endmacro %}{{ f(1, 2) }}").message() ==
        "1:41: macro 'f' takes not more than 1 argument(s)");
  CHECK(RenderError("{% macro f(a) %}{{ a }}{% endmacro %}{{ f(c=1) }}").message() ==
        "1:41: macro 'f' takes no keyword argument 'c'");
  auto deep = RenderError("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}");
  CHECK(deep.code() == StatusCode::kResourceExhausted);
  CHECK(deep.message() == "1:19: macro calls nested deeper than 100");
}

TEST_CASE("HF's generation tags render their body unchanged") {
  CHECK(Render("{% generation %}answer{% endgeneration %}!") == "answer!");
}

TEST_CASE("raise_exception fails the render with the template's message") {
  auto s = RenderError("{% if messages[0].role != 'user' %}{{ raise_exception('Roles must alternate') }}{% endif %}",
                       R"({"messages": [{"role": "assistant"}]})");
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(s.message() == "1:39: template raised an error: Roles must alternate");
}

TEST_CASE("strftime_now formats the local time, which RenderOptions can fix") {
  engine::jinja::RenderOptions options;
  options.local_time = [] {
    std::tm tm{};
    tm.tm_year = 2025 - 1900;
    tm.tm_mon = 6;
    tm.tm_mday = 26;
    tm.tm_hour = 9;
    tm.tm_min = 5;
    return tm;
  };
  auto out = chat_test::TryRender("Today: {{ strftime_now('%d %b %Y %H:%M') }}", "{}", options);
  REQUIRE(out.ok());
  CHECK(*out == "Today: 26 Jul 2025 09:05");
}

TEST_CASE("Limits stop runaway templates") {
  engine::jinja::RenderOptions small;
  small.max_output_bytes = 10;
  CHECK(RenderError("{% for i in range(100) %}xx{% endfor %}", "{}", small).code() == StatusCode::kResourceExhausted);
  small = {};
  small.max_loop_iterations = 5;
  CHECK(RenderError("{% for i in range(6) %}{% endfor %}", "{}", small).message() ==
        "1:1: more than 5 loop iterations in one render");
  CHECK(RenderError("{{ range(2000000) | length }}").code() == StatusCode::kResourceExhausted);
}
