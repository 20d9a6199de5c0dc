#include "agent/interface_facts.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <fstream>
#include <optional>

#include <fmt/format.h>

namespace cluster::agent {
namespace {

namespace fs = std::filesystem;

// The first line of a sysfs attribute, without its newline; nullopt when it
// cannot be read (sysfs answers EINVAL for `speed` of a link that is down).
std::optional<std::string> ReadAttribute(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

std::optional<long long> ReadInteger(const fs::path& file, int base = 10) {
  auto text = ReadAttribute(file);
  if (!text) return std::nullopt;
  std::string_view t = *text;
  if (base == 16 && (t.starts_with("0x") || t.starts_with("0X"))) t.remove_prefix(2);
  long long value = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value, base);
  if (ec != std::errc() || end != t.data() + t.size() || t.empty()) return std::nullopt;
  return value;
}

int PrefixLength(const sockaddr* netmask) {
  if (netmask == nullptr || netmask->sa_family != AF_INET) return 32;
  const auto* mask = reinterpret_cast<const sockaddr_in*>(netmask);
  return std::popcount(static_cast<std::uint32_t>(mask->sin_addr.s_addr));
}

}  // namespace

bool IsVirtualInterfaceName(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kPrefixes = {
      "docker", "virbr", "tailscale", "lxcbr", "br-", "veth", "cni", "flannel", "cali", "vxlan", "zt", "kube"};
  return std::any_of(kPrefixes.begin(), kPrefixes.end(),
                     [&](std::string_view prefix) { return name.starts_with(prefix); });
}

Ipv4AddressMap ReadIpv4Addresses() {
  Ipv4AddressMap addresses;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return addresses;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) == nullptr) continue;
    addresses[a->ifa_name].push_back(fmt::format("{}/{}", text, PrefixLength(a->ifa_netmask)));
  }
  ::freeifaddrs(list);
  return addresses;
}

std::vector<control::InterfaceFacts> ReadInterfaces(const fs::path& sysfs_net, const Ipv4AddressMap& addresses) {
  std::vector<control::InterfaceFacts> interfaces;
  std::error_code ec;
  for (auto it = fs::directory_iterator(sysfs_net, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_directory(type_ec)) continue;  // /sys/class/net also holds bonding_masters, a file
    const fs::path dir = it->path();
    control::InterfaceFacts facts;
    facts.name = dir.filename().string();
    const std::string operstate = ReadAttribute(dir / "operstate").value_or("");
    const bool state_ok = operstate == "up" || operstate == "unknown";
    if (auto flags = ReadInteger(dir / "flags", 16)) {
      facts.up = (*flags & IFF_UP) != 0 && state_ok;
      facts.loopback = (*flags & IFF_LOOPBACK) != 0;
    } else {
      facts.up = operstate == "up";
    }
    facts.is_virtual = IsVirtualInterfaceName(facts.name);
    facts.mtu = static_cast<int>(ReadInteger(dir / "mtu").value_or(0));
    if (auto speed = ReadInteger(dir / "speed"); speed && *speed > 0 && *speed <= 10'000'000) {
      facts.speed_mbps = static_cast<int>(*speed);
    }
    if (auto found = addresses.find(facts.name); found != addresses.end()) facts.addresses = found->second;
    interfaces.push_back(std::move(facts));
  }
  std::sort(interfaces.begin(), interfaces.end(),
            [](const control::InterfaceFacts& a, const control::InterfaceFacts& b) { return a.name < b.name; });
  return interfaces;
}

}  // namespace cluster::agent
