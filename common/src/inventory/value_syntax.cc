#include "value_syntax.h"

#include <arpa/inet.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

#include <fmt/format.h>

namespace cluster::inventory {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Quoted(std::string_view s) { return fmt::format("\"{}\"", s); }

// Splits "15.5 GiB" into the number 15.5 and the unit "GiB". The number is
// digits with an optional fraction; one space may separate it from the unit.
struct NumberAndUnit {
  double number = 0;
  bool whole = true;
  std::string_view unit;
};
std::optional<NumberAndUnit> SplitNumberAndUnit(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && IsDigit(text[i])) ++i;
  if (i == 0) return std::nullopt;
  bool whole = true;
  if (i < text.size() && text[i] == '.') {
    whole = false;
    std::size_t start = ++i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    if (i == start) return std::nullopt;
  }
  NumberAndUnit out;
  out.whole = whole;
  out.number = std::strtod(std::string(text.substr(0, i)).c_str(), nullptr);
  if (i < text.size() && text[i] == ' ') ++i;
  out.unit = text.substr(i);
  return out;
}

StatusOr<std::uint64_t> Scale(const NumberAndUnit& n, double multiplier) {
  const double bytes = std::round(n.number * multiplier);
  if (!(bytes < 18446744073709551616.0)) {
    return InvalidArgumentError("it is too large");
  }
  if (bytes < 1) return InvalidArgumentError("it must be more than 0 bytes");
  return static_cast<std::uint64_t>(bytes);
}

}  // namespace

Status CheckClusterName(std::string_view name) {
  if (name.empty() || name.size() > 63) {
    return InvalidArgumentError(fmt::format("it has {} characters", name.size()));
  }
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '-') {
      return InvalidArgumentError(fmt::format("it contains {}", Quoted(std::string(1, c))));
    }
  }
  if (name.front() == '-') return InvalidArgumentError("it starts with \"-\"");
  return Status::Ok();
}

Status CheckHostName(std::string_view name) {
  if (name.empty() || name.size() > 63) {
    return InvalidArgumentError(fmt::format("it has {} characters", name.size()));
  }
  for (char c : name) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') {
      return InvalidArgumentError(fmt::format("it contains {}", Quoted(std::string(1, c))));
    }
  }
  if (name.front() == '-' || name.front() == '.') {
    return InvalidArgumentError(fmt::format("it starts with {}", Quoted(name.substr(0, 1))));
  }
  return Status::Ok();
}

Status CheckInterfaceName(std::string_view name) {
  if (name.empty() || name.size() > 15) {
    return InvalidArgumentError(fmt::format("it has {} characters", name.size()));
  }
  if (name == "." || name == "..") return InvalidArgumentError(fmt::format("{} is reserved", Quoted(name)));
  for (char c : name) {
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c))) {
      return InvalidArgumentError(fmt::format("it contains {}", Quoted(std::string(1, c))));
    }
  }
  return Status::Ok();
}

bool IsDnsName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  bool all_digits = true;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
      if (!IsDigit(c)) all_digits = false;
    }
    start = end + 1;
  }
  return !all_digits;
}

StatusOr<IpAddress> ParseIpAddress(std::string_view text) {
  const std::string s(text);
  IpAddress out;
  if (::inet_pton(AF_INET, s.c_str(), out.bytes.data()) == 1) return out;
  if (::inet_pton(AF_INET6, s.c_str(), out.bytes.data()) == 1) {
    out.v6 = true;
    return out;
  }
  return InvalidArgumentError("not an IP address");
}

std::string FormatIpAddress(const IpAddress& address) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.bytes.data(), buf, sizeof buf);
  return buf;
}

Status CheckHostAddress(std::string_view text) {
  if (ParseIpAddress(text).ok() || IsDnsName(text)) return Status::Ok();
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    return InvalidArgumentError("write an IPv6 address without brackets");
  }
  const std::size_t colon = text.rfind(':');
  if (colon != std::string_view::npos && text.find(':') == colon) {
    std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
    bool numeric_port = !port.empty();
    for (char c : port) numeric_port = numeric_port && IsDigit(c);
    if (numeric_port && (ParseIpAddress(host).ok() || IsDnsName(host))) {
      return InvalidArgumentError("give the port as ssh.port, and the address alone");
    }
  }
  bool dotted_digits = !text.empty();
  for (char c : text) dotted_digits = dotted_digits && (IsDigit(c) || c == '.');
  if (dotted_digits) return InvalidArgumentError("an IPv4 address is four numbers from 0 to 255");
  return InvalidArgumentError("a DNS name is letters, digits, \"-\" and dots");
}

bool Subnet::HasHostBits() const {
  for (int bit = prefix_length; bit < base.bit_count(); ++bit) {
    if (base.bytes[bit / 8] & (0x80 >> (bit % 8))) return true;
  }
  return false;
}

bool Subnet::Contains(const IpAddress& address) const {
  if (address.v6 != base.v6) return false;
  for (int bit = 0; bit < prefix_length; ++bit) {
    const std::uint8_t mask = static_cast<std::uint8_t>(0x80 >> (bit % 8));
    if ((address.bytes[bit / 8] & mask) != (base.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

std::string Subnet::Canonical() const {
  IpAddress network = base;
  for (int bit = prefix_length; bit < base.bit_count(); ++bit) {
    network.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
  }
  return fmt::format("{}/{}", FormatIpAddress(network), prefix_length);
}

StatusOr<Subnet> ParseSubnet(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return InvalidArgumentError("the prefix length such as /24 is missing");
  }
  Subnet out;
  auto address = ParseIpAddress(text.substr(0, slash));
  if (!address.ok()) {
    return InvalidArgumentError(fmt::format("{} is not an IP address", Quoted(text.substr(0, slash))));
  }
  out.base = *address;
  std::string_view prefix = text.substr(slash + 1);
  bool digits = !prefix.empty() && prefix.size() <= 3;
  for (char c : prefix) digits = digits && IsDigit(c);
  if (!digits) return InvalidArgumentError(fmt::format("{} is not a prefix length", Quoted(prefix)));
  out.prefix_length = std::atoi(std::string(prefix).c_str());
  if (out.prefix_length > out.base.bit_count()) {
    return InvalidArgumentError(fmt::format("the prefix length {} is larger than {}", out.prefix_length,
                                            out.base.bit_count()));
  }
  return out;
}

StatusOr<std::uint64_t> ParseByteSize(std::string_view text) {
  auto n = SplitNumberAndUnit(text);
  if (!n) return InvalidArgumentError("it does not start with a number");
  struct Unit {
    std::string_view name;
    double multiplier;
  };
  static constexpr Unit kUnits[] = {
      {"", 1}, {"B", 1},
      {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
      {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
  };
  for (const Unit& u : kUnits) {
    if (n->unit != u.name) continue;
    if (u.name.empty() && !n->whole) {
      return InvalidArgumentError("a fraction of a byte; add a unit");
    }
    return Scale(*n, u.multiplier);
  }
  return InvalidArgumentError(fmt::format("unknown unit {}; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB", Quoted(n->unit)));
}

StatusOr<std::uint64_t> ParseDockerSize(std::string_view text) {
  auto n = SplitNumberAndUnit(text);
  if (!n) return InvalidArgumentError("it does not start with a number");
  std::string unit;
  for (char c : n->unit) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double multiplier = 1;
  std::string_view rest = unit;
  if (!rest.empty()) {
    const std::string_view letters = "bkmgtp";
    const std::size_t power = letters.find(rest.front());
    if (power == std::string_view::npos) {
      return InvalidArgumentError(fmt::format("unknown unit {}; use b, k, m, g, t or p", Quoted(n->unit)));
    }
    multiplier = std::pow(1024.0, static_cast<double>(power));  // b is 1024^0
    rest.remove_prefix(1);
    if (power > 0 && (rest == "b" || rest == "ib")) rest = {};
    if (!rest.empty()) {
      return InvalidArgumentError(fmt::format("unknown unit {}; use b, k, m, g, t or p", Quoted(n->unit)));
    }
  }
  if (multiplier == 1 && !n->whole) {
    return InvalidArgumentError("a fraction of a byte; add a unit");
  }
  return Scale(*n, multiplier);
}

StatusOr<std::int64_t> ParseDurationSeconds(std::string_view text) {
  auto n = SplitNumberAndUnit(text);
  if (!n) return InvalidArgumentError("it does not start with a number");
  if (!n->whole) return InvalidArgumentError("a fraction; use a smaller unit (90s, not 1.5m)");
  static constexpr std::pair<std::string_view, double> kUnits[] = {{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}};
  for (const auto& [unit, seconds] : kUnits) {
    if (n->unit != unit) continue;
    const double total = n->number * seconds;
    if (total < 1) return InvalidArgumentError("it must be at least 1 second");
    if (total > 1e9) return InvalidArgumentError("it is too long");
    return static_cast<std::int64_t>(total);
  }
  return InvalidArgumentError(fmt::format("unknown unit {}; use s, m or h", Quoted(n->unit)));
}

}  // namespace cluster::inventory
