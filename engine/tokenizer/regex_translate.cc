#include "engine/tokenizer/regex_translate.h"

#include <cctype>
#include <vector>

#include <fmt/format.h>

namespace engine::tokenizer {
namespace {

constexpr std::string_view kWordInClass = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}";
constexpr std::string_view kHexInClass = "0-9A-Fa-f";

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

char OtherCase(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : static_cast<char>(c - 'A' + 'a');
}

// Length of the UTF-8 character whose lead byte is `c` (1 for stray bytes,
// which PCRE2 then reports as invalid UTF).
size_t CharLength(char c) {
  const auto b = static_cast<unsigned char>(c);
  if (b < 0xC0) return 1;
  if (b < 0xE0) return 2;
  if (b < 0xF0) return 3;
  return 4;
}

class Translator {
 public:
  explicit Translator(std::string_view pattern) : in_(pattern) {}

  cluster::StatusOr<std::string> Run() {
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      cluster::Status status;
      if (c == '\\') {
        status = Escape();
      } else if (c == '[') {
        status = Class();
      } else if (c == '(') {
        status = OpenGroup();
      } else if (c == ')') {
        if (!fold_stack_.empty()) {
          fold_ = fold_stack_.back();
          fold_stack_.pop_back();
        }
        out_ += c;
        ++pos_;
      } else if (fold_ && IsAsciiLetter(c)) {
        out_ += fmt::format("[{}{}]", c, OtherCase(c));
        ++pos_;
      } else {
        CopyChar();
      }
      if (!status.ok()) return status;
    }
    return out_;
  }

 private:
  cluster::Status Error(std::string_view what) const {
    return cluster::UnimplementedError(fmt::format("{} at offset {} of the pattern", what, pos_));
  }

  void CopyChar() {
    const size_t n = std::min(CharLength(in_[pos_]), in_.size() - pos_);
    out_.append(in_.substr(pos_, n));
    pos_ += n;
  }

  // Copies "\p{...}" / "\x{...}" starting at pos_ (the backslash) through '}'.
  bool CopyBraced() {
    const size_t close = in_.find('}', pos_);
    if (pos_ + 2 >= in_.size() || in_[pos_ + 2] != '{' || close == std::string_view::npos) return false;
    out_.append(in_.substr(pos_, close + 1 - pos_));
    pos_ = close + 1;
    return true;
  }

  // \uHHHH -> \x{HHHH}. Returns false if pos_ does not start one.
  bool UnicodeEscape() {
    if (pos_ + 6 > in_.size()) return false;
    for (size_t k = 2; k < 6; ++k) {
      if (!IsHex(in_[pos_ + k])) return false;
    }
    out_ += fmt::format("\\x{{{}}}", in_.substr(pos_ + 2, 4));
    pos_ += 6;
    return true;
  }

  cluster::Status Escape() {
    if (pos_ + 1 >= in_.size()) return Error("a trailing backslash");
    const char e = in_[pos_ + 1];
    switch (e) {
      case 's': out_ += "\\p{White_Space}"; break;
      case 'S': out_ += "\\P{White_Space}"; break;
      case 'd': out_ += "\\p{Nd}"; break;
      case 'D': out_ += "\\P{Nd}"; break;
      case 'w': out_ += fmt::format("[{}]", kWordInClass); break;
      case 'W': out_ += fmt::format("[^{}]", kWordInClass); break;
      case 'h': out_ += fmt::format("[{}]", kHexInClass); break;
      case 'H': out_ += fmt::format("[^{}]", kHexInClass); break;
      case 'p':
      case 'P':
      case 'x':
        if (CopyBraced()) return cluster::Status::Ok();
        out_.append(in_.substr(pos_, 2));
        break;
      case 'u':
        if (UnicodeEscape()) return cluster::Status::Ok();
        return Error("a \\u escape without four hex digits");
      default:
        out_ += '\\';
        ++pos_;
        CopyChar();
        return cluster::Status::Ok();
    }
    pos_ += 2;
    return cluster::Status::Ok();
  }

  cluster::Status OpenGroup() {
    std::string_view rest = in_.substr(pos_);
    fold_stack_.push_back(fold_);
    if (rest.starts_with("(?i:")) {
      fold_ = true;
      out_ += "(?:";
      pos_ += 4;
      return cluster::Status::Ok();
    }
    if (!rest.starts_with("(?")) {
      out_ += '(';
      ++pos_;
      return cluster::Status::Ok();
    }
    for (std::string_view prefix : {"(?:", "(?=", "(?!", "(?<=", "(?<!", "(?>", "(?<", "(?P<"}) {
      if (rest.starts_with(prefix)) {
        out_.append(prefix);
        pos_ += prefix.size();
        return cluster::Status::Ok();
      }
    }
    const size_t end = rest.find_first_of(":)");
    return Error(fmt::format("the group flags \"{}\" (only (?i:...) is supported)",
                             rest.substr(0, end == std::string_view::npos ? rest.size() : end + 1)));
  }

  // Adds the other case of the ASCII letters in [lo, hi] to `extra`.
  static void FoldRange(char lo, char hi, std::string* extra) {
    const char upper_lo = std::max(lo, 'A'), upper_hi = std::min(hi, 'Z');
    if (upper_lo <= upper_hi) *extra += fmt::format("{}-{}", OtherCase(upper_lo), OtherCase(upper_hi));
    const char lower_lo = std::max(lo, 'a'), lower_hi = std::min(hi, 'z');
    if (lower_lo <= lower_hi) *extra += fmt::format("{}-{}", OtherCase(lower_lo), OtherCase(lower_hi));
  }

  cluster::Status Class() {
    const size_t start = pos_;
    out_ += '[';
    ++pos_;
    if (pos_ < in_.size() && in_[pos_] == '^') {
      out_ += '^';
      ++pos_;
    }
    if (pos_ < in_.size() && in_[pos_] == ']') {  // a ']' first is a literal
      out_ += "\\]";
      ++pos_;
    }
    std::string fold_extra;  // other-case letters to add under (?i:
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      if (c == ']') {
        out_ += fold_extra;
        out_ += ']';
        ++pos_;
        return cluster::Status::Ok();
      }
      if (c == '&' && pos_ + 1 < in_.size() && in_[pos_ + 1] == '&') {
        return Error("a character-class intersection (&&)");
      }
      if (c == '[') {
        const size_t close = in_.find(":]", pos_);
        if (pos_ + 1 < in_.size() && in_[pos_ + 1] == ':' && close != std::string_view::npos) {
          out_.append(in_.substr(pos_, close + 2 - pos_));
          pos_ = close + 2;
          continue;
        }
        return Error("a nested character class");
      }
      if (c == '\\') {
        if (pos_ + 1 >= in_.size()) break;
        const char e = in_[pos_ + 1];
        switch (e) {
          case 's': out_ += "\\p{White_Space}"; break;
          case 'S': out_ += "\\P{White_Space}"; break;
          case 'd': out_ += "\\p{Nd}"; break;
          case 'D': out_ += "\\P{Nd}"; break;
          case 'w': out_ += kWordInClass; break;
          case 'h': out_ += kHexInClass; break;
          case 'W':
          case 'H': return Error(fmt::format("\\{} inside a character class", e));
          case 'p':
          case 'P':
          case 'x':
            if (CopyBraced()) continue;
            out_.append(in_.substr(pos_, 2));
            break;
          case 'u':
            if (UnicodeEscape()) continue;
            return Error("a \\u escape without four hex digits");
          default:
            out_ += '\\';
            ++pos_;
            CopyChar();
            continue;
        }
        pos_ += 2;
        continue;
      }
      // A range of two plain ASCII characters, e.g. a-z: under (?i: add the
      // other case of the letters it covers.
      if (static_cast<unsigned char>(c) < 0x80 && pos_ + 2 < in_.size() && in_[pos_ + 1] == '-') {
        const char hi = in_[pos_ + 2];
        if (hi != ']' && hi != '\\' && hi != '[' && static_cast<unsigned char>(hi) < 0x80) {
          if (fold_) FoldRange(c, hi, &fold_extra);
          out_.append(in_.substr(pos_, 3));
          pos_ += 3;
          continue;
        }
      }
      if (fold_ && IsAsciiLetter(c)) fold_extra += OtherCase(c);
      CopyChar();
    }
    pos_ = start;
    return Error("an unterminated character class");
  }

  std::string_view in_;
  size_t pos_ = 0;
  std::string out_;
  bool fold_ = false;              // inside (?i: ... )
  std::vector<bool> fold_stack_;   // fold_ of the enclosing groups
};

}  // namespace

cluster::StatusOr<std::string> TranslateRegexToPcre2(std::string_view pattern) {
  return Translator(pattern).Run();
}

std::string EscapeLiteralForPcre2(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    // A backslash before any ASCII non-alphanumeric makes it literal in PCRE2;
    // letters, digits and non-ASCII bytes are literal already.
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x80 && !std::isalnum(b)) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace engine::tokenizer
