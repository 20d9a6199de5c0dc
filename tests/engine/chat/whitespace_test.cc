// Whitespace as transformers renders chat templates: Jinja2 with
// trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False.
#include <catch2/catch.hpp>

#include "engine/chat/lexer.h"
#include "render_helpers.h"

using chat_test::Render;

TEST_CASE("trim_blocks: the first newline after a block tag is removed, not after an expression") {
  CHECK(Render("{% if true %}\nyes\n{% endif %}\n") == "yes\n");
  CHECK(Render("{{ 'a' }}\nb") == "a\nb");
  CHECK(Render("{# note #}\nb") == "b");
}

TEST_CASE("lstrip_blocks: indentation before a block tag or comment is removed, not before an expression") {
  CHECK(Render("  {% if true %}x{% endif %}\n  {{ 'y' }}") == "x  y");
  CHECK(Render("a\n    {# comment #}\nb") == "a\nb");
  // Only when the tag starts the line.
  CHECK(Render("a  {% if true %}x{% endif %}") == "a  x");
}

TEST_CASE("A plus sign keeps what lstrip_blocks and trim_blocks would remove") {
  CHECK(Render("<p>\n    {%+ if true %}x{% endif +%}\n</p>") == "<p>\n    x\n</p>");
}

TEST_CASE("A minus sign strips all whitespace, newlines included, on its side of the tag") {
  CHECK(Render("a  \n  {%- if true -%}  \n  b  \n  {%- endif -%}\n  c") == "abc");
  CHECK(Render("x   {{- 'y' -}}   z") == "xyz");
  CHECK(Render("a\n  {# comment #}\nb\n  {#- c -#}  \nc") == "a\nbc");
}

TEST_CASE("Comments render nothing, even across lines") {
  CHECK(Render("a{# one\ntwo {{ not parsed }} #}b") == "ab");
}

TEST_CASE("CR LF and CR line endings become LF and one trailing newline of the template is dropped") {
  CHECK(Render("a\r\nb\rc\n") == "a\nb\nc");
  CHECK(Render("a\n\n") == "a\n");
  CHECK(Render("{{ 'x' }}\n") == "x");
}

TEST_CASE("'}}' closes nested dict literals inside an expression") {
  CHECK(Render("{{ {'a': {'b': 1}}['a']['b'] }}") == "1");
}

TEST_CASE("Tokens carry 1-based line:column positions counted in characters") {
  auto tokens = engine::jinja::Tokenize("é{{ x }}\n  {% if y %}");
  REQUIRE(tokens.ok());
  REQUIRE(tokens->size() == 10);
  const auto& t = *tokens;
  CHECK(t[0].kind == engine::jinja::TokenKind::kText);
  CHECK(t[0].text == "é");
  CHECK((t[1].kind == engine::jinja::TokenKind::kVariableBegin && t[1].pos.line == 1 && t[1].pos.column == 2));
  CHECK((t[2].text == "x" && t[2].pos.column == 5));
  CHECK((t[4].kind == engine::jinja::TokenKind::kText && t[4].text == "\n"));  // lstrip removed "  "
  CHECK((t[5].kind == engine::jinja::TokenKind::kBlockBegin && t[5].pos.line == 2 && t[5].pos.column == 3));
  CHECK((t[6].text == "if" && t[6].pos.column == 6));
  CHECK(t[9].kind == engine::jinja::TokenKind::kEnd);
}

TEST_CASE("String literals decode Python's escapes and keep unknown ones") {
  CHECK(Render(R"({{ '\x41\u00e9\U0001F680\101' }})") == "Aé🚀A");
  CHECK(Render(R"({{ 'a\tb\\c\'d' ~ "\"e\"" }})") == "a\tb\\c'd\"e\"");
  CHECK(Render(R"({{ '\d\w' }})") == "\\d\\w");
  CHECK(Render("{{ 'adjacent' \" literals\" ' join' }}") == "adjacent literals join");
}

TEST_CASE("Number literals: integers, floats, exponents and digit separators") {
  CHECK(Render("{{ 42 }} {{ 1_000 }} {{ 2.5 }} {{ 1e3 }} {{ 1.5e-3 }}") == "42 1000 2.5 1000.0 0.0015");
}
