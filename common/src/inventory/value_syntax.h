// The syntax of the inventory's scalar values that are more than a number or
// a word: names, addresses, subnets, interface names and sizes.
//
// Internal to the inventory loader. Pure functions: they look at text only,
// never at the network or the file system. A failed check returns an
// InvalidArgument Status whose message says what is wrong without repeating
// the value ("it contains \"_\"", "the prefix length 33 is larger than 32"):
// the loader shows it as the hint after "expected ..., found \"VALUE\".
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cluster::inventory {

// cluster.name: 1 to 63 characters of [a-z0-9-], not starting with '-'. It
// names state folders, so it must be safe in a file name on every host.
Status CheckClusterName(std::string_view name);

// hosts[].name: 1 to 63 characters of [A-Za-z0-9._-], not starting with '-'
// or '.'. It names per-host log and state files and `--host` picks it.
Status CheckHostName(std::string_view name);

// A network interface name under the Linux rules (dev_valid_name): 1 to 15
// bytes (IFNAMSIZ is 16 with the terminating NUL), not "." or "..", and no
// '/', ':' or whitespace.
Status CheckInterfaceName(std::string_view name);

// A DNS host name: dot-separated labels of 1 to 63 characters of
// [A-Za-z0-9-], not starting or ending with '-', 253 characters at most, an
// optional final dot. A name whose labels are all digits is rejected: it is a
// mistyped IPv4 address, not a name.
bool IsDnsName(std::string_view name);

struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // network order; the first 4 for IPv4
  int bit_count() const { return v6 ? 128 : 32; }
  bool operator==(const IpAddress&) const = default;
};

// A literal IPv4 ("10.0.0.11") or IPv6 ("fd00::11") address, nothing else.
StatusOr<IpAddress> ParseIpAddress(std::string_view text);

// hosts[].address: an IP address or a DNS name. On failure the message says
// why (a bracketed IPv6 address, a ":port" suffix, a bad IPv4 address, ...).
Status CheckHostAddress(std::string_view text);

struct Subnet {
  IpAddress base;         // as written; host bits may be set (see HasHostBits)
  int prefix_length = 0;  // 0..32 or 0..128
  bool HasHostBits() const;
  bool Contains(const IpAddress& address) const;
  std::string Canonical() const;  // base with host bits cleared, "/N"
};

// network.subnet: "ADDRESS/PREFIX", IPv4 or IPv6.
StatusOr<Subnet> ParseSubnet(std::string_view text);

std::string FormatIpAddress(const IpAddress& address);

// A size in bytes: a whole number of bytes ("17179869184") or a number and a
// unit ("16GiB", "16 GiB", "15.5GB"). Units: B; kB, KB, MB, GB, TB (powers of
// 1000); KiB, MiB, GiB, TiB (powers of 1024). The result must be > 0.
StatusOr<std::uint64_t> ParseByteSize(std::string_view text);

// Docker's size syntax (`docker run --shm-size`): a number and an optional
// unit letter b, k, m, g, t, p (case-insensitive, powers of 1024), which may
// be followed by "b" or "ib": "16g", "512m", "1gb", "2GiB". Must be > 0.
StatusOr<std::uint64_t> ParseDockerSize(std::string_view text);

// A duration in whole seconds: a whole number and a unit s, m or h ("30s",
// "10m", "1h"); a bare number is seconds. Must be > 0.
StatusOr<std::int64_t> ParseDurationSeconds(std::string_view text);

}  // namespace cluster::inventory
