#include "engine/chat/lexer.h"

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "engine/chat/text.h"

namespace engine::jinja {
namespace {

using cluster::Status;

std::string NormalizeNewlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string StripLeft(const std::string& s) {
  const std::u32string cps = text::Decode(s);
  size_t i = 0;
  while (i < cps.size() && text::IsSpace(cps[i])) ++i;
  return text::Encode(std::u32string_view(cps).substr(i));
}

std::string StripRight(const std::string& s) {
  const std::u32string cps = text::Decode(s);
  size_t end = cps.size();
  while (end > 0 && text::IsSpace(cps[end - 1])) --end;
  return text::Encode(std::u32string_view(cps).substr(0, end));
}

class Lexer {
 public:
  Lexer(std::string source, const LexOptions& options) : src_(std::move(source)), options_(options) {}

  cluster::StatusOr<std::vector<Token>> Run() {
    bool strip_next_text = false;  // the previous tag ended with '-'
    bool line_starting = true;     // the text that follows starts a line
    size_t i = 0;
    while (i < src_.size()) {
      const size_t tag = FindTagStart(i);
      std::string text = src_.substr(i, tag - i);
      const Pos text_pos = PosAt(i);
      if (strip_next_text) text = StripLeft(text);
      if (tag == src_.size()) {
        EmitText(std::move(text), text_pos);
        break;
      }
      const char kind = src_[tag + 1];  // '{', '%' or '#'
      const char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
      if (sign == '-') {
        text = StripRight(text);
      } else if (sign != '+' && options_.lstrip_blocks && kind != '{') {
        const size_t newline = text.rfind('\n');
        const size_t line_start = newline == std::string::npos ? 0 : newline + 1;
        if (line_start > 0 || line_starting) {
          bool blank = line_start < text.size();
          for (char32_t c : text::Decode(std::string_view(text).substr(line_start))) blank = blank && text::IsSpace(c);
          if (blank) text.resize(line_start);
        }
      }
      EmitText(std::move(text), text_pos);

      const Pos tag_pos = PosAt(tag);
      size_t k = tag + 2 + (sign ? 1 : 0);
      char end_sign = 0;
      if (kind == '#') {
        const size_t end = src_.find("#}", k);
        if (end == std::string::npos) {
          return SyntaxErrorAt(tag_pos, "unclosed comment: '{#' has no matching '#}'");
        }
        if (end > k && (src_[end - 1] == '-' || src_[end - 1] == '+')) end_sign = src_[end - 1];
        i = end + 2;
      } else {
        auto end = LexTag(kind == '{', k, tag_pos, sign);
        if (!end.ok()) return end.status();
        i = end->first;
        end_sign = end->second;
      }
      // Whitespace after the tag.
      strip_next_text = end_sign == '-';
      line_starting = false;
      if (!strip_next_text && kind != '{' && end_sign != '+' && options_.trim_blocks && i < src_.size() &&
          src_[i] == '\n') {
        ++i;
        line_starting = true;
      }
    }
    Token end;
    end.kind = TokenKind::kEnd;
    end.pos = PosAt(src_.size());
    tokens_.push_back(std::move(end));
    return std::move(tokens_);
  }

 private:
  // The index of the next "{{", "{%" or "{#" at or after i, or src_.size().
  size_t FindTagStart(size_t i) const {
    while (true) {
      const size_t at = src_.find('{', i);
      if (at == std::string::npos || at + 1 >= src_.size()) return src_.size();
      const char next = src_[at + 1];
      if (next == '{' || next == '%' || next == '#') return at;
      i = at + 1;
    }
  }

  // Position of byte index i. Indices must be asked for in increasing order.
  Pos PosAt(size_t i) {
    while (cursor_ < i && cursor_ < src_.size()) {
      const auto b = static_cast<unsigned char>(src_[cursor_]);
      if (b == '\n') {
        ++cursor_pos_.line;
        cursor_pos_.column = 1;
      } else if ((b & 0xC0) != 0x80) {
        ++cursor_pos_.column;
      }
      ++cursor_;
    }
    return cursor_pos_;
  }

  void EmitText(std::string text, Pos pos) {
    if (text.empty()) return;
    Token t;
    t.kind = TokenKind::kText;
    t.pos = pos;
    t.text = std::move(text);
    tokens_.push_back(std::move(t));
  }

  void Emit(TokenKind kind, Pos pos, std::string text = {}) {
    Token t;
    t.kind = kind;
    t.pos = pos;
    t.text = std::move(text);
    tokens_.push_back(std::move(t));
  }

  // Lexes the inside of {{ }} or {% %} starting at k. Returns the index after
  // the closing marker and the marker's sign ('-', '+' or 0).
  cluster::StatusOr<std::pair<size_t, char>> LexTag(bool variable, size_t k, Pos tag_pos, char sign) {
    Emit(variable ? TokenKind::kVariableBegin : TokenKind::kBlockBegin, tag_pos, variable ? "{{" : "{%");
    const std::string opener = std::string(variable ? "{{" : "{%") + (sign ? std::string(1, sign) : "");
    const char* closer = variable ? "}}" : "%}";
    std::vector<std::pair<char, Pos>> brackets;
    bool first = true;
    while (true) {
      while (k < src_.size() && (src_[k] == ' ' || src_[k] == '\t' || src_[k] == '\n' || src_[k] == '\f' ||
                                 src_[k] == '\v')) {
        ++k;
      }
      if (k >= src_.size()) {
        return SyntaxErrorAt(tag_pos, "unclosed tag: '" + opener + "' has no matching '" + closer + "'");
      }
      const Pos pos = PosAt(k);
      // The closing marker; inside a {{ }}, "}}" may also close nested dict literals.
      for (const char end_sign : {'-', '+', '\0'}) {
        if (variable && end_sign == '+') continue;
        const std::string marker = (end_sign ? std::string(1, end_sign) : std::string()) + closer;
        if (src_.compare(k, marker.size(), marker) != 0) continue;
        if (variable && !brackets.empty()) break;
        if (!brackets.empty()) {
          return SyntaxErrorAt(brackets.back().second,
                               std::string("unclosed '") + brackets.back().first + "' before '" + closer + "'");
        }
        Emit(variable ? TokenKind::kVariableEnd : TokenKind::kBlockEnd, pos, closer);
        return std::make_pair(k + marker.size(), end_sign);
      }
      const char c = src_[k];
      if (IsNameStart(c)) {
        size_t e = k;
        while (e < src_.size() && IsNameChar(src_[e])) ++e;
        std::string name = src_.substr(k, e - k);
        if (!variable && first && name == "raw") return UnsupportedAt(tag_pos, "unsupported tag 'raw'");
        Emit(TokenKind::kName, pos, std::move(name));
        k = e;
      } else if (IsDigit(c)) {
        CLUSTER_RETURN_IF_ERROR(LexNumber(k, pos));
      } else if (c == '\'' || c == '"') {
        CLUSTER_RETURN_IF_ERROR(LexString(k, pos));
      } else {
        static const char* const kOperators[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%",
                                                 "~",  "<",  ">",  "=",  "(",  ")",  "[", "]", "{", "}", ",",
                                                 ".",  ":",  "|"};
        const char* match = nullptr;
        for (const char* op : kOperators) {
          if (src_.compare(k, std::char_traits<char>::length(op), op) == 0) {
            match = op;
            break;
          }
        }
        if (match == nullptr) {
          std::string ch;
          text::AppendUtf8(ch, text::Decode(std::string_view(src_).substr(k, 4))[0]);
          return SyntaxErrorAt(pos, "unexpected character '" + ch + "'");
        }
        const std::string op = match;
        if (op == "(" || op == "[" || op == "{") brackets.emplace_back(op[0], pos);
        if ((op == ")" || op == "]" || op == "}") && !brackets.empty()) brackets.pop_back();
        Emit(TokenKind::kOperator, pos, op);
        k += op.size();
      }
      first = false;
    }
  }

  // Digits with optional '_' separators, fraction and exponent, as Jinja.
  Status LexNumber(size_t& k, Pos pos) {
    auto digits = [&](size_t at) {
      size_t e = at;
      while (e < src_.size() && (IsDigit(src_[e]) || (src_[e] == '_' && e + 1 < src_.size() && IsDigit(src_[e + 1]) &&
                                                      e > at))) {
        ++e;
      }
      return e;
    };
    size_t e = digits(k);
    bool is_float = false;
    const bool after_dot = !tokens_.empty() && tokens_.back().kind == TokenKind::kOperator && tokens_.back().text == ".";
    if (!after_dot && e + 1 < src_.size() && src_[e] == '.' && IsDigit(src_[e + 1])) {
      e = digits(e + 1);
      is_float = true;
    }
    if (!after_dot && e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t x = e + 1;
      if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) ++x;
      if (x < src_.size() && IsDigit(src_[x])) {
        e = digits(x);
        is_float = true;
      }
    }
    std::string spelling;
    for (size_t i = k; i < e; ++i) {
      if (src_[i] != '_') spelling.push_back(src_[i]);
    }
    Token t;
    t.pos = pos;
    t.text = src_.substr(k, e - k);
    if (is_float) {
      t.kind = TokenKind::kFloat;
      t.float_value = std::strtod(spelling.c_str(), nullptr);
    } else {
      t.kind = TokenKind::kInteger;
      errno = 0;
      t.int_value = std::strtoll(spelling.c_str(), nullptr, 10);
      if (errno == ERANGE) return UnsupportedAt(pos, "integer literal " + t.text + " does not fit in 64 bits");
    }
    tokens_.push_back(std::move(t));
    k = e;
    return Status::Ok();
  }

  // A quoted string with Python's escapes (Jinja decodes "unicode-escape").
  Status LexString(size_t& k, Pos pos) {
    const char quote = src_[k];
    std::string value;
    size_t i = k + 1;
    while (true) {
      if (i >= src_.size()) return SyntaxErrorAt(pos, "unterminated string literal");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value.push_back(c);
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) return SyntaxErrorAt(pos, "unterminated string literal");
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case '\n': break;  // line continuation
        case '\\': value.push_back('\\'); break;
        case '\'': value.push_back('\''); break;
        case '"': value.push_back('"'); break;
        case 'a': value.push_back('\a'); break;
        case 'b': value.push_back('\b'); break;
        case 'f': value.push_back('\f'); break;
        case 'n': value.push_back('\n'); break;
        case 'r': value.push_back('\r'); break;
        case 't': value.push_back('\t'); break;
        case 'v': value.push_back('\v'); break;
        case 'x':
        case 'u':
        case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          char32_t cp = 0;
          for (size_t d = 0; d < n; ++d) {
            const int h = i + d < src_.size() ? HexDigit(src_[i + d]) : -1;
            if (h < 0) return SyntaxErrorAt(pos, std::string("truncated \\") + e + " escape in string literal");
            cp = cp * 16 + static_cast<char32_t>(h);
          }
          i += n;
          if (cp > 0x10FFFF) return SyntaxErrorAt(pos, "escape \\U out of range in string literal");
          if (cp >= 0xD800 && cp <= 0xDFFF) {
            return UnsupportedAt(pos, "string literal escape of a lone surrogate is not supported");
          }
          text::AppendUtf8(value, cp);
          break;
        }
        case 'N':
          return UnsupportedAt(pos, "\\N{...} escapes in string literals are not supported");
        default:
          if (e >= '0' && e <= '7') {
            char32_t cp = static_cast<char32_t>(e - '0');
            for (int d = 0; d < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++d, ++i) {
              cp = cp * 8 + static_cast<char32_t>(src_[i] - '0');
            }
            text::AppendUtf8(value, cp);
          } else {  // Python keeps unknown escapes as written
            value.push_back('\\');
            value.push_back(e);
          }
      }
    }
    Token t;
    t.kind = TokenKind::kString;
    t.pos = pos;
    t.text = std::move(value);
    tokens_.push_back(std::move(t));
    k = i + 1;
    return Status::Ok();
  }

  const std::string src_;
  const LexOptions options_;
  std::vector<Token> tokens_;
  size_t cursor_ = 0;
  Pos cursor_pos_;
};

}  // namespace

cluster::StatusOr<std::vector<Token>> Tokenize(std::string_view source, const LexOptions& options) {
  return Lexer(NormalizeNewlines(source), options).Run();
}

std::string Describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kText: return "text";
    case TokenKind::kVariableBegin: return "'{{'";
    case TokenKind::kVariableEnd: return "'}}'";
    case TokenKind::kBlockBegin: return "'{%'";
    case TokenKind::kBlockEnd: return "'%}'";
    case TokenKind::kName: return "'" + token.text + "'";
    case TokenKind::kString: return "string literal";
    case TokenKind::kInteger:
    case TokenKind::kFloat: return "number " + token.text;
    case TokenKind::kOperator: return "'" + token.text + "'";
    case TokenKind::kEnd: return "end of template";
  }
  return "token";
}

}  // namespace engine::jinja
