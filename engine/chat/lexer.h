// Lexer: template source -> tokens, with Jinja's whitespace rules applied.
//
// Internal to engine_chat. Follows Jinja2's lexer as Hugging Face configures
// it (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False):
//   - "\r\n" and "\r" become "\n"; one trailing newline of the template is
//     dropped.
//   - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`,
//     `-#}` strip all whitespace after it.
//   - trim_blocks: the first newline right after `%}` or `#}` is removed
//     (not after `}}`; `+%}` keeps it).
//   - lstrip_blocks: spaces and tabs from the start of a line up to `{%` or
//     `{#` are removed (not before `{{`; `{%+` keeps them).
//   - Comments `{# ... #}` produce no tokens.
// Text tokens carry the text to print, already trimmed. Positions are those
// of the original source.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/chat/position.h"

namespace engine::jinja {

enum class TokenKind {
  kText,           // text outside tags
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,           // identifier or keyword (if, for, and, true, ...)
  kString,         // string literal; text holds the decoded value
  kInteger,        // int_value
  kFloat,          // float_value
  kOperator,       // text holds the operator: + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
  kEnd,            // end of the template
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  Pos pos;
  std::string text;
  int64_t int_value = 0;
  double float_value = 0.0;
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
};

// Splits source into tokens ending with one kEnd token. Fails with
// "LINE:COL: ..." on an unclosed tag, comment, string or bracket, a bad
// escape or an unexpected character, and on `{% raw %}` (unsupported).
cluster::StatusOr<std::vector<Token>> Tokenize(std::string_view source, const LexOptions& options = {});

// A readable name for error messages: "'endfor'", "'+'", "end of template".
std::string Describe(const Token& token);

}  // namespace engine::jinja
