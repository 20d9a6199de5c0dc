// network rules: which interface carries each host's cluster traffic (what
// `up` sets as NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME and VLLM_HOST_IP), is
// it up, do the hosts share a subnet and an MTU, and can each agent reach the
// head's.
//
// Virtual interfaces (docker0, tailscale0, veth*, ...: agent/interface_facts.h)
// are never chosen: they carry container or VPN traffic, and NCCL over them
// either cannot connect across hosts or crawls.
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "cli/lifecycle/check_rules.h"

namespace cluster::cli::check {
namespace {

using Verdict = CheckRow::Verdict;

// An IPv4 address in host byte order and, for "ADDRESS/PREFIX", its prefix.
struct Ipv4Cidr {
  std::uint32_t address = 0;
  int prefix = 32;

  std::uint32_t Mask() const { return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix); }
  bool Contains(std::uint32_t other) const { return (address & Mask()) == (other & Mask()); }
  std::string Network() const {
    const std::uint32_t n = address & Mask();
    return fmt::format("{}.{}.{}.{}/{}", n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255, prefix);
  }
};

std::optional<std::uint32_t> ParseIpv4(std::string_view text) {
  in_addr a{};
  if (::inet_pton(AF_INET, std::string(text).c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

// "10.0.0.11/24", or a bare address as /32.
std::optional<Ipv4Cidr> ParseIpv4Cidr(std::string_view text) {
  const std::size_t slash = text.find('/');
  auto address = ParseIpv4(text.substr(0, slash));
  if (!address) return std::nullopt;
  Ipv4Cidr cidr{*address, 32};
  if (slash != text.npos) {
    std::string_view p = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), cidr.prefix);
    if (ec != std::errc() || end != p.data() + p.size() || cidr.prefix < 0 || cidr.prefix > 32) return std::nullopt;
  }
  return cidr;
}

std::string AddressPart(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

// "lo (127.0.0.1/8), eth0 (10.0.0.11/24), docker0"
std::string DescribeInterfaces(const std::vector<control::InterfaceFacts>& interfaces) {
  std::vector<std::string> parts;
  for (const auto& i : interfaces) {
    parts.push_back(i.addresses.empty() ? i.name : fmt::format("{} ({})", i.name, fmt::join(i.addresses, ", ")));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

const control::InterfaceFacts* FindInterface(const control::NodeFacts& facts, const std::string& name) {
  for (const auto& i : facts.interfaces) {
    if (i.name == name) return &i;
  }
  return nullptr;
}

// The interface's entry ("ADDRESS/PREFIX") for `address`, or "" when it has none.
std::string EntryFor(const control::InterfaceFacts& interface, const std::string& address) {
  for (const auto& a : interface.addresses) {
    if (AddressPart(a) == address) return a;
  }
  return "";
}

struct Choice {
  const control::InterfaceFacts* interface = nullptr;
  std::string address;
};

// The key an operator sets to change the interface of `a`: the host's own
// interface, else network.interface.
std::string InterfaceKey(const AnsweredHost& a) {
  return a.host->interface ? fmt::format("hosts[{}].interface", a.index) : "network.interface";
}

// The key that holds the host's cluster address.
std::string AddressKey(const AnsweredHost& a) {
  return fmt::format("hosts[{}].{}", a.index, a.host->data_address ? "data_address" : "address");
}

// An interface named (hosts[].interface or network.interface): it must exist
// and have an IPv4 address (the host's cluster address when it carries it).
std::optional<Choice> ChooseNamed(const std::string& name, const AnsweredHost& a, CheckReport& report) {
  const std::string& host = a.host->name;
  const std::string key = InterfaceKey(a);
  const control::InterfaceFacts* interface = FindInterface(*a.facts, name);
  if (interface == nullptr) {
    AddRow(report, host, "network", "interface", Verdict::kFail,
           fmt::format("interface {} not found on {}; its interfaces: {}", name, host,
                       DescribeInterfaces(a.facts->interfaces)),
           fmt::format("set {} to one of them or to auto", key));
    return std::nullopt;
  }
  if (interface->addresses.empty()) {
    AddRow(report, host, "network", "interface", Verdict::kFail,
           fmt::format("interface {} on {} has no IPv4 address", name, host),
           fmt::format("give {} an IPv4 address on {}, or set {} to another interface or to auto", name, host,
                       key));
    return std::nullopt;
  }
  const std::string entry = EntryFor(*interface, a.host->ClusterAddress());
  return Choice{interface, AddressPart(entry.empty() ? interface->addresses.front() : entry)};
}

// network.interface auto with an IP address in the inventory: the interface
// that carries it, unless it is virtual.
std::optional<Choice> ChooseByAddress(const AnsweredHost& a, CheckReport& report) {
  const std::string& host = a.host->name;
  const std::string& address = a.host->ClusterAddress();
  const control::InterfaceFacts* virtual_one = nullptr;
  for (const auto& i : a.facts->interfaces) {
    if (EntryFor(i, address).empty()) continue;
    if (!i.is_virtual) return Choice{&i, address};
    virtual_one = &i;
  }
  if (virtual_one != nullptr) {
    AddRow(report, host, "network", "interface", Verdict::kFail,
           fmt::format("{}'s address {} is on {}, a virtual interface: it carries container or VPN traffic, and "
                       "NCCL between hosts needs the physical NIC",
                       host, address, virtual_one->name),
           fmt::format("set {} to the address of {}'s physical NIC, or set {}", AddressKey(a), host,
                       InterfaceKey(a)));
  } else {
    AddRow(report, host, "network", "interface", Verdict::kFail,
           fmt::format("no interface of {} carries its address {}; its interfaces: {}", host, address,
                       DescribeInterfaces(a.facts->interfaces)),
           fmt::format("set {} to an address of {}, or set {}", AddressKey(a), host, InterfaceKey(a)));
  }
  return std::nullopt;
}

// network.interface auto with a DNS name in the inventory (check resolves
// nothing): the interface the host's probe of the head left from, else the
// only up, physical, non-loopback interface with an address.
std::optional<Choice> ChooseForDnsName(const AnsweredHost& a, CheckReport& report) {
  const auto& probe = a.observation->probe_to_head;
  if (probe && probe->reachable && !probe->source_address.empty()) {
    for (const auto& i : a.facts->interfaces) {
      if (!i.is_virtual && !EntryFor(i, probe->source_address).empty()) return Choice{&i, probe->source_address};
    }
  }
  std::vector<const control::InterfaceFacts*> candidates;
  for (const auto& i : a.facts->interfaces) {
    if (i.up && !i.loopback && !i.is_virtual && !i.addresses.empty()) candidates.push_back(&i);
  }
  if (candidates.size() == 1) return Choice{candidates.front(), AddressPart(candidates.front()->addresses.front())};
  AddRow(report, a.host->name, "network", "interface", Verdict::kFail,
         fmt::format("{}'s address {} is a name, and {} of its interfaces could carry the cluster's traffic: {}",
                     a.host->name, a.host->address, candidates.size(), DescribeInterfaces(a.facts->interfaces)),
         fmt::format("set network.interface, or set hosts[{}].address to an IP address", a.index));
  return std::nullopt;
}

std::string SpeedText(const std::optional<int>& mbps) {
  if (!mbps) return "speed unknown";
  if (*mbps >= 1000 && *mbps % 1000 == 0) return fmt::format("{} Gb/s", *mbps / 1000);
  return fmt::format("{} Mb/s", *mbps);
}

void CheckProbe(const inventory::Inventory& inventory, const AnsweredHost& a, CheckReport& report) {
  const inventory::Host* head = inventory.Head();
  const auto& probe = a.observation->probe_to_head;
  if (head == nullptr || head->name == a.host->name || !probe) return;
  const std::string item = "reach " + head->name;
  if (probe->reachable) {
    AddRow(report, a.host->name, "network", item, Verdict::kPass,
           fmt::format("clusterd on {} answers in {} ms{}", head->name, probe->rtt_ms,
                       probe->source_address.empty() ? "" : " from " + probe->source_address));
    return;
  }
  AddRow(report, a.host->name, "network", item, Verdict::kFail,
         fmt::format("clusterd on {} cannot reach clusterd on {} at {}:{}: {}", a.host->name, head->name,
                     head->address, control::kDefaultAgentPort, probe->error),
         fmt::format("allow TCP port {} from {} to {} (firewall, routes), and check that clusterd runs on {}",
                     control::kDefaultAgentPort, a.host->name, head->name, head->name));
}

// The chosen interface of each answered host with its "ADDRESS/PREFIX".
struct Chosen {
  std::string host;
  const control::InterfaceFacts* interface = nullptr;
  Ipv4Cidr cidr;
};

std::vector<Chosen> ChosenInterfaces(const std::vector<AnsweredHost>& answered, const CheckReport& report) {
  std::vector<Chosen> chosen;
  for (const AnsweredHost& a : answered) {
    auto it = report.network.find(a.host->name);
    if (it == report.network.end()) continue;
    const control::InterfaceFacts* interface = FindInterface(*a.facts, it->second.interface);
    if (interface == nullptr) continue;
    auto cidr = ParseIpv4Cidr(EntryFor(*interface, it->second.address));
    if (!cidr) continue;
    chosen.push_back(Chosen{a.host->name, interface, *cidr});
  }
  return chosen;
}

std::string AddressText(std::uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

void CheckSubnet(const inventory::Inventory& inventory, const std::vector<Chosen>& chosen, CheckReport& report) {
  if (inventory.network.subnet) {
    const std::string& text = *inventory.network.subnet;
    auto subnet = ParseIpv4Cidr(text);
    if (!subnet || text.find('/') == text.npos) {
      AddRow(report, "", "network", "subnet", Verdict::kWarn,
             fmt::format("network.subnet {} is not an IPv4 subnet; check sees IPv4 addresses only", text),
             "check that the hosts' addresses lie in it yourself");
      return;
    }
    bool all_inside = true;
    for (const Chosen& c : chosen) {
      if (subnet->Contains(c.cidr.address)) continue;
      all_inside = false;
      AddRow(report, c.host, "network", "subnet", Verdict::kFail,
             fmt::format("{} on {} is outside network.subnet {}", AddressText(c.cidr.address), c.interface->name,
                         subnet->Network()),
             fmt::format("put {}'s cluster address inside {}, or correct network.subnet", c.host, subnet->Network()));
    }
    if (all_inside && !chosen.empty()) {
      AddRow(report, "", "network", "subnet", Verdict::kPass, fmt::format("every host in {}", subnet->Network()));
    }
    return;
  }
  if (chosen.size() < 2) return;
  for (const Chosen& from : chosen) {
    for (const Chosen& to : chosen) {
      if (from.cidr.Contains(to.cidr.address)) continue;
      AddRow(report, "", "network", "subnet", Verdict::kWarn,
             fmt::format("routed, not one subnet: {} ({}) is outside {}'s {} {}", to.host, AddressText(to.cidr.address),
                         from.host, from.interface->name, from.cidr.Network()),
             "traffic between the hosts goes through a router, which NCCL tolerates but is slower: put the cluster "
             "interfaces on one subnet");
      return;
    }
  }
  AddRow(report, "", "network", "subnet", Verdict::kPass,
         fmt::format("one subnet: {}", chosen.front().cidr.Network()));
}

void CheckMtu(const std::vector<Chosen>& chosen, CheckReport& report) {
  if (chosen.size() < 2) return;
  std::set<int> mtus;
  std::vector<std::string> per_host;
  for (const Chosen& c : chosen) {
    mtus.insert(c.interface->mtu);
    per_host.push_back(fmt::format("{}: {} on {}", c.host, c.interface->mtu, c.interface->name));
  }
  if (mtus.size() == 1) {
    AddRow(report, "", "network", "mtu", Verdict::kPass, fmt::format("MTU {} on every host", *mtus.begin()));
    return;
  }
  AddRow(report, "", "network", "mtu", Verdict::kFail,
         fmt::format("the cluster interfaces' MTUs differ: {}", fmt::join(per_host, ", ")),
         fmt::format("set one MTU on every host's cluster interface ({}): large packets from one host are dropped "
                     "by another, and NCCL stalls",
                     fmt::join(per_host, ", ")));
}

}  // namespace

void CheckHostNetwork(const inventory::Inventory& inventory, const AnsweredHost& a, CheckReport& report) {
  std::optional<Choice> choice;
  const std::string& interface = a.host->interface ? *a.host->interface : inventory.network.interface;
  if (interface != "auto") {
    choice = ChooseNamed(interface, a, report);
  } else if (ParseIpv4(a.host->ClusterAddress())) {
    choice = ChooseByAddress(a, report);
  } else {
    choice = ChooseForDnsName(a, report);
  }
  if (choice) {
    const control::InterfaceFacts& i = *choice->interface;
    report.network[a.host->name] = HostNetwork{i.name, choice->address};
    if (!i.up) {
      AddRow(report, a.host->name, "network", "interface", Verdict::kFail,
             fmt::format("{} on {} is down", i.name, a.host->name),
             fmt::format("bring it up on {} (ip link set {} up, and check its cable), or choose another interface "
                         "with {}",
                         a.host->name, i.name, InterfaceKey(a)));
    } else {
      AddRow(report, a.host->name, "network", "interface", Verdict::kPass,
             fmt::format("{} {}, MTU {}, {}", i.name, EntryFor(i, choice->address), i.mtu, SpeedText(i.speed_mbps)));
    }
  }
  CheckProbe(inventory, a, report);
}

void CheckClusterNetwork(const inventory::Inventory& inventory, const std::vector<AnsweredHost>& answered,
                         CheckReport& report) {
  const std::vector<Chosen> chosen = ChosenInterfaces(answered, report);
  CheckSubnet(inventory, chosen, report);
  CheckMtu(chosen, report);
}

}  // namespace cluster::cli::check
