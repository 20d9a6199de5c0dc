#include "common/wire_token.h"

#include <fmt/format.h>

namespace cluster {

std::string EncodeToken(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (raw.empty()) return std::string(1, '%');  // never an empty token; "%" alone decodes to ""
  std::string out;
  out.reserve(raw.size());
  for (unsigned char c : raw) {
    if (c == '%' || c <= ' ' || c >= 0x7f) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

StatusOr<std::string> DecodeToken(std::string_view token) {
  if (token == "%") return std::string();
  // (push_back below, not +=: g++ 12 reports a false -Wrestrict on string appends here)
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] != '%') {
      out.push_back(token[i]);
      continue;
    }
    if (i + 2 >= token.size()) {
      return InvalidArgumentError(fmt::format("malformed escape in '{}'", token));
    }
    int hi = HexValue(token[i + 1]);
    int lo = HexValue(token[i + 2]);
    if (hi < 0 || lo < 0) return InvalidArgumentError(fmt::format("malformed escape in '{}'", token));
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::vector<std::string> SplitTokens(std::string_view line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < line.size()) {
    size_t end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    if (end > start) out.emplace_back(line.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace cluster
