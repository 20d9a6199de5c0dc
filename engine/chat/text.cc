#include "engine/chat/text.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <cstdio>

namespace engine::jinja::text {
namespace {

constexpr char32_t kEscapedByteBase = 0xDC00;  // surrogateescape: byte b -> U+DC00+b (b >= 0x80)

// Length of a valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t ValidSequenceLength(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  char32_t c = b0 & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    c = (c << 6) | (b & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  return n;
}

// The C library's Unicode case tables; nullptr if C.UTF-8 is missing.
locale_t Utf8Locale() {
  static const locale_t locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return locale;
}

std::string Hex(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

cluster::Status Unsupported(const char* operation, char32_t c) {
  std::string letter;
  AppendUtf8(letter, c);
  return cluster::UnimplementedError(std::string(operation) + "() of '" + letter + "' (" + Hex(c) +
                                     ") is not supported: its Python case mapping is context- or "
                                     "multi-letter-dependent");
}

bool IsEscapedByte(char32_t c) { return c >= kEscapedByteBase + 0x80 && c <= kEscapedByteBase + 0xFF; }

bool IsCased(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  locale_t loc = Utf8Locale();
  if (loc == nullptr || IsEscapedByte(c)) return false;
  return iswupper_l(static_cast<wint_t>(c), loc) || iswlower_l(static_cast<wint_t>(c), loc) ||
         c == 0x1C5 || c == 0x1C8 || c == 0x1CB || c == 0x1F2;
}

// Letters whose Python upper/title mapping is several code points that we do
// not reproduce (Greek with iota subscript, Armenian ligatures, ...).
bool HasUnreproducedUpperMapping(char32_t c) {
  if (c == 0x149 || c == 0x1F0 || c == 0x390 || c == 0x3B0 || c == 0x587) return true;
  if (c >= 0x1E96 && c <= 0x1E9A) return true;
  if (c >= 0x1F50 && c <= 0x1F56 && c % 2 == 0) return true;
  if (c >= 0x1F80 && c <= 0x1FFF) {
    // Greek Extended letters with special casing (iota subscript, breathing + vowel).
    static constexpr char32_t kSpecial[] = {0x1FB2, 0x1FB3, 0x1FB4, 0x1FB6, 0x1FB7, 0x1FBC, 0x1FC2, 0x1FC3,
                                            0x1FC4, 0x1FC6, 0x1FC7, 0x1FCC, 0x1FD2, 0x1FD3, 0x1FD6, 0x1FD7,
                                            0x1FE2, 0x1FE3, 0x1FE4, 0x1FE6, 0x1FE7, 0x1FF2, 0x1FF3, 0x1FF4,
                                            0x1FF6, 0x1FF7, 0x1FFC};
    if (c <= 0x1FAF) return true;
    return std::find(std::begin(kSpecial), std::end(kSpecial), c) != std::end(kSpecial);
  }
  return c >= 0xFB13 && c <= 0xFB17;
}

// Appends the Python upper-case (title = false) or title-case (title = true)
// mapping of c.
cluster::Status MapUpper(char32_t c, bool title, std::string& out) {
  if (c < 0x80) {
    AppendUtf8(out, (c >= 'a' && c <= 'z') ? c - 32 : c);
    return cluster::Status::Ok();
  }
  struct Special {
    char32_t c;
    const char* upper;
    const char* title;
  };
  static constexpr Special kSpecials[] = {
      {0xDF, "SS", "Ss"},    {0xFB00, "FF", "Ff"},   {0xFB01, "FI", "Fi"}, {0xFB02, "FL", "Fl"},
      {0xFB03, "FFI", "Ffi"}, {0xFB04, "FFL", "Ffl"}, {0xFB05, "ST", "St"}, {0xFB06, "ST", "St"},
  };
  for (const Special& s : kSpecials) {
    if (s.c == c) {
      out += title ? s.title : s.upper;
      return cluster::Status::Ok();
    }
  }
  char32_t mapped = c;
  if (title && c >= 0x1C4 && c <= 0x1CC) {  // Latin digraphs have their own title-case letter
    mapped = 0x1C5 + 3 * ((c - 0x1C4) / 3);
  } else if (title && c >= 0x1F1 && c <= 0x1F3) {
    mapped = 0x1F2;
  } else if (HasUnreproducedUpperMapping(c)) {
    return Unsupported(title ? "title" : "upper", c);
  } else if (!IsEscapedByte(c)) {
    locale_t loc = Utf8Locale();
    if (loc == nullptr) return Unsupported("upper", c);
    mapped = static_cast<char32_t>(towupper_l(static_cast<wint_t>(c), loc));
  }
  AppendUtf8(out, mapped);
  return cluster::Status::Ok();
}

// Appends the Python lower-case mapping of cps[i] (context for final sigma).
cluster::Status MapLower(const std::u32string& cps, size_t i, std::string& out) {
  const char32_t c = cps[i];
  if (c < 0x80) {
    AppendUtf8(out, (c >= 'A' && c <= 'Z') ? c + 32 : c);
    return cluster::Status::Ok();
  }
  if (c == 0x130) {  // İ -> i + combining dot above
    AppendUtf8(out, 'i');
    AppendUtf8(out, 0x307);
    return cluster::Status::Ok();
  }
  if (c == 0x3A3) {  // Σ: final sigma when a cased letter precedes and none follows
    const bool before = i > 0 && IsCased(cps[i - 1]);
    const bool after = i + 1 < cps.size() && IsCased(cps[i + 1]);
    AppendUtf8(out, before && !after ? 0x3C2 : 0x3C3);
    return cluster::Status::Ok();
  }
  char32_t mapped = c;
  if (!IsEscapedByte(c)) {
    locale_t loc = Utf8Locale();
    if (loc == nullptr) return Unsupported("lower", c);
    mapped = static_cast<char32_t>(towlower_l(static_cast<wint_t>(c), loc));
  }
  AppendUtf8(out, mapped);
  return cluster::Status::Ok();
}

bool InChars(char32_t c, const std::u32string& chars) { return chars.find(c) != std::u32string::npos; }

}  // namespace

void AppendUtf8(std::string& out, char32_t c) {
  if (IsEscapedByte(c)) {
    out.push_back(static_cast<char>(c - kEscapedByteBase));
  } else if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::u32string Decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t n = ValidSequenceLength(s, i);
    if (n == 0) {
      out.push_back(kEscapedByteBase + static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    const auto b0 = static_cast<unsigned char>(s[i]);
    char32_t c = n == 1 ? b0 : (b0 & (0x7F >> n));
    for (size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(c);
    i += n;
  }
  return out;
}

std::string Encode(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) AppendUtf8(out, c);
  return out;
}

size_t Length(std::string_view s) {
  size_t n = 0;
  size_t i = 0;
  while (i < s.size()) {
    const size_t len = ValidSequenceLength(s, i);
    i += len == 0 ? 1 : len;
    ++n;
  }
  return n;
}

bool IsSpace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

std::string Strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  const std::u32string cps = Decode(s);
  const std::u32string set = chars ? Decode(*chars) : std::u32string();
  auto strip = [&](char32_t c) { return chars ? InChars(c, set) : IsSpace(c); };
  size_t begin = 0;
  size_t end = cps.size();
  if (left) {
    while (begin < end && strip(cps[begin])) ++begin;
  }
  if (right) {
    while (end > begin && strip(cps[end - 1])) --end;
  }
  return Encode(std::u32string_view(cps).substr(begin, end - begin));
}

std::vector<std::string> Split(std::string_view s, const std::optional<std::string>& sep, long maxsplit) {
  std::vector<std::string> parts;
  if (sep) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<long>(parts.size()) < maxsplit) {
      const size_t at = s.find(*sep, start);
      if (at == std::string_view::npos) break;
      parts.emplace_back(s.substr(start, at - start));
      start = at + sep->size();
    }
    parts.emplace_back(s.substr(start));
    return parts;
  }
  // Runs of whitespace separate; no empty strings at either end.
  const std::u32string cps = Decode(s);
  size_t i = 0;
  while (true) {
    while (i < cps.size() && IsSpace(cps[i])) ++i;
    if (i == cps.size()) break;
    if (maxsplit >= 0 && static_cast<long>(parts.size()) == maxsplit) {
      parts.push_back(Encode(std::u32string_view(cps).substr(i)));
      break;
    }
    size_t j = i;
    while (j < cps.size() && !IsSpace(cps[j])) ++j;
    parts.push_back(Encode(std::u32string_view(cps).substr(i, j - i)));
    i = j;
  }
  return parts;
}

std::vector<std::string> SplitLines(std::string_view s) {
  const std::u32string cps = Decode(s);
  std::vector<std::string> lines;
  size_t start = 0;
  size_t i = 0;
  while (i < cps.size()) {
    const char32_t c = cps[i];
    const bool is_break = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E) ||
                          c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!is_break) {
      ++i;
      continue;
    }
    lines.push_back(Encode(std::u32string_view(cps).substr(start, i - start)));
    i += (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ? 2 : 1;
    start = i;
  }
  if (start < cps.size()) lines.push_back(Encode(std::u32string_view(cps).substr(start)));
  return lines;
}

std::string Replace(std::string_view s, std::string_view old_text, std::string_view new_text, long count) {
  std::string out;
  if (old_text.empty()) {
    // Python inserts new_text before every code point and at the end.
    const std::u32string cps = Decode(s);
    long done = 0;
    for (char32_t c : cps) {
      if (count < 0 || done < count) {
        out += new_text;
        ++done;
      }
      AppendUtf8(out, c);
    }
    if (count < 0 || done < count) out += new_text;
    return out;
  }
  size_t start = 0;
  long done = 0;
  while (count < 0 || done < count) {
    const size_t at = s.find(old_text, start);
    if (at == std::string_view::npos) break;
    out.append(s.substr(start, at - start));
    out.append(new_text);
    start = at + old_text.size();
    ++done;
  }
  out.append(s.substr(start));
  return out;
}

cluster::StatusOr<std::string> Upper(std::string_view s) {
  std::string out;
  for (char32_t c : Decode(s)) CLUSTER_RETURN_IF_ERROR(MapUpper(c, /*title=*/false, out));
  return out;
}

cluster::StatusOr<std::string> Lower(std::string_view s) {
  const std::u32string cps = Decode(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) CLUSTER_RETURN_IF_ERROR(MapLower(cps, i, out));
  return out;
}

cluster::StatusOr<std::string> Title(std::string_view s) {
  const std::u32string cps = Decode(s);
  std::string out;
  bool previous_is_cased = false;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (previous_is_cased) {
      CLUSTER_RETURN_IF_ERROR(MapLower(cps, i, out));
    } else {
      CLUSTER_RETURN_IF_ERROR(MapUpper(cps[i], /*title=*/true, out));
    }
    previous_is_cased = IsCased(cps[i]);
  }
  return out;
}

cluster::StatusOr<std::string> Capitalize(std::string_view s) {
  const std::u32string cps = Decode(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (i == 0) {
      CLUSTER_RETURN_IF_ERROR(MapUpper(cps[i], /*title=*/true, out));
    } else {
      CLUSTER_RETURN_IF_ERROR(MapLower(cps, i, out));
    }
  }
  return out;
}

cluster::StatusOr<std::string> TitleFilter(std::string_view s) {
  // Python: "".join(w[0].upper() + w[1:].lower() for w in re.split(r"([-\s({\[<]+)", s) if w)
  const std::u32string cps = Decode(s);
  auto is_separator = [](char32_t c) {
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || IsSpace(c);
  };
  std::string out;
  size_t i = 0;
  while (i < cps.size()) {
    const bool sep = is_separator(cps[i]);
    size_t j = i;
    while (j < cps.size() && is_separator(cps[j]) == sep) ++j;
    CLUSTER_RETURN_IF_ERROR(MapUpper(cps[i], /*title=*/false, out));
    const std::u32string rest = cps.substr(i + 1, j - i - 1);
    for (size_t k = 0; k < rest.size(); ++k) CLUSTER_RETURN_IF_ERROR(MapLower(rest, k, out));
    i = j;
  }
  return out;
}

namespace {
// Python's str.islower / str.isupper: at least one cased character, and none
// of the other case.
bool AllCasedAre(std::string_view s, bool want_upper) {
  locale_t loc = Utf8Locale();
  bool cased = false;
  for (char32_t c : Decode(s)) {
    if (IsEscapedByte(c)) continue;
    const bool upper = c < 0x80 ? (c >= 'A' && c <= 'Z') : (loc && iswupper_l(static_cast<wint_t>(c), loc));
    const bool lower = c < 0x80 ? (c >= 'a' && c <= 'z') : (loc && iswlower_l(static_cast<wint_t>(c), loc));
    if (want_upper ? lower : upper) return false;
    if (want_upper ? upper : lower) cased = true;
  }
  return cased;
}
}  // namespace

bool IsLower(std::string_view s) { return AllCasedAre(s, /*want_upper=*/false); }

bool IsUpper(std::string_view s) { return AllCasedAre(s, /*want_upper=*/true); }

}  // namespace engine::jinja::text
