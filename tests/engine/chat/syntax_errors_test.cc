// A template that is malformed, or uses Jinja this engine does not implement,
// fails at parse time with "LINE:COLUMN: what", naming the construct: it is
// never rendered wrongly.
#include <catch2/catch.hpp>

#include "render_helpers.h"

using chat_test::RenderError;
using cluster::StatusCode;

TEST_CASE("An unknown filter is named with its position") {
  auto s = RenderError("{{ x | foo }}");
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(s.message() == "1:8: unknown filter 'foo'");
  CHECK(RenderError("line one\n{{ messages | length | foo(1) }}").message() == "2:24: unknown filter 'foo'");
}

TEST_CASE("A Jinja filter, test, tag or method outside the subset is unsupported, by name and position") {
  auto filter = RenderError("{{ [1, 2] | sum }}");
  CHECK(filter.code() == StatusCode::kUnimplemented);
  CHECK(filter.message() == "1:13: unsupported filter 'sum'");
  CHECK(RenderError("{{ x is sameas y }}").message() == "1:9: unsupported test 'sameas'");
  auto tag = RenderError("Hi\n  {% include 'header.jinja' %}");
  CHECK(tag.code() == StatusCode::kUnimplemented);
  CHECK(tag.message() == "2:3: unsupported tag 'include'");
  CHECK(RenderError("{% raw %}{{ x }}{% endraw %}").message() == "1:1: unsupported tag 'raw'");
  CHECK(RenderError("{% call foo() %}x{% endcall %}").message() == "1:1: unsupported tag 'call'");
  CHECK(RenderError("{% for x in y recursive %}{% endfor %}").message() == "1:15: unsupported loop modifier 'recursive'");
  CHECK(RenderError("{{ f(*args) }}").message() == "1:6: argument unpacking (*args, **kwargs) is unsupported");
  CHECK(RenderError("{% for x in y %}{% macro m() %}{% endmacro %}{% endfor %}").message() ==
        "1:17: macro definitions inside 'for' are unsupported; define macros at the top level");
  auto method = RenderError("{{ 'x'.zfill(3) }}");
  CHECK(method.code() == StatusCode::kUnimplemented);
  CHECK(method.message() == "1:4: unsupported method str.zfill()");
}

TEST_CASE("An unknown test or tag is a syntax error") {
  CHECK(RenderError("{{ x is blue }}").message() == "1:9: unknown test 'blue'");
  CHECK(RenderError("{% frobnicate %}").message() == "1:1: unknown tag 'frobnicate'");
}

TEST_CASE("An unclosed tag, comment, string or bracket names where it opened") {
  CHECK(RenderError("Hello {{ name").message() == "1:7: unclosed tag: '{{' has no matching '}}'");
  CHECK(RenderError("a\n{%- if x").message() == "2:1: unclosed tag: '{%-' has no matching '%}'");
  CHECK(RenderError("a {# note").message() == "1:3: unclosed comment: '{#' has no matching '#}'");
  CHECK(RenderError("{{ 'abc }}").message() == "1:4: unterminated string literal");
  CHECK(RenderError("{% if (a %}{% endif %}").message() == "1:7: unclosed '(' before '%}'");
}

TEST_CASE("An unclosed block names the block and where it opened") {
  CHECK(RenderError("x\n{% if a %}yes").message() ==
        "2:1: unclosed 'if' block: expected 'elif' or 'else' or 'endif' before the end of the template");
  CHECK(RenderError("{% for m in ms %}{% if a %}{% endif %}").message() ==
        "1:1: unclosed 'for' block: expected 'endfor' or 'else' before the end of the template");
}

TEST_CASE("A closing tag that does not match names the innermost open block") {
  CHECK(RenderError("{% if x %}{% endfor %}").message() ==
        "1:11: unexpected 'endfor': the innermost open block is 'if' (opened at 1:1)");
  CHECK(RenderError("text {% endif %}").message() == "1:6: unexpected 'endif'");
}

TEST_CASE("Malformed expressions say what was expected") {
  CHECK(RenderError("{{ 1 + }}").message() == "1:8: unexpected '}}', expected an expression");
  CHECK(RenderError("{{ a b }}").message() == "1:6: unexpected 'b', expected '}}'");
  CHECK(RenderError("{% for in x %}{% endfor %}").message() == "1:11: unexpected 'x', expected 'in'");
  CHECK(RenderError("{{ a ! b }}").message() == "1:6: unexpected character '!'");
  CHECK(RenderError("{{ f(a=1, 2) }}").message() == "1:11: positional argument follows keyword argument");
  CHECK(RenderError("{% break %}").message() == "1:1: 'break' outside a 'for' loop");
}
