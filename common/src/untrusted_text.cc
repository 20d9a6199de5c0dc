#include "common/untrusted_text.h"

#include <algorithm>

#include <fmt/format.h>

namespace cluster {
namespace {

// The length of the valid UTF-8 sequence at the start of `s` (1-4), or 0 when
// it does not start with one (overlong forms and surrogates are invalid).
std::size_t Utf8Length(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned min_second = 0x80, max_second = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) min_second = 0xa0;  // overlong
    if (c == 0xed) max_second = 0x9f;  // surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) min_second = 0x90;  // overlong
    if (c == 0xf4) max_second = 0x8f;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < min_second || b(1) > max_second) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (b(i) < 0x80 || b(i) > 0xbf) return 0;
  }
  return n;
}

void AppendEscaped(std::string& out, unsigned char byte) { out += fmt::format("\\x{:02x}", byte); }

}  // namespace

std::string PrintableText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::size_t n = Utf8Length(text);
    const auto c = static_cast<unsigned char>(text[0]);
    if (n == 0) {
      AppendEscaped(out, c);
      text.remove_prefix(1);
      continue;
    }
    if (n == 1 && ((c < 0x20 && c != '\t') || c == 0x7f)) {
      AppendEscaped(out, c);
    } else if (n == 2 && c == 0xc2 && static_cast<unsigned char>(text[1]) < 0xa0) {
      // U+0080..U+009F: C1 controls (U+009B is a one-character CSI on some terminals).
      AppendEscaped(out, c);
      AppendEscaped(out, static_cast<unsigned char>(text[1]));
    } else {
      out.append(text.substr(0, n));
    }
    text.remove_prefix(n);
  }
  return out;
}

std::string Excerpt(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return PrintableText(text);
  std::size_t cut = 0;
  while (cut < max_bytes) {
    const std::size_t n = std::max<std::size_t>(1, Utf8Length(text.substr(cut)));
    if (cut + n > max_bytes) break;
    cut += n;
  }
  return PrintableText(text.substr(0, cut)) + fmt::format("... ({} bytes)", text.size());
}

}  // namespace cluster
