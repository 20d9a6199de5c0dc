// The network interfaces of this host, for `clusterctl check` to choose the
// one that carries the cluster's traffic (NCCL, Gloo, the engine's
// rendezvous) and to compare MTUs across hosts.
//
// The interface list and its state come from sysfs (/sys/class/net/IF/
// {operstate,mtu,speed,flags}); IPv4 addresses from getifaddrs(3). Both are
// injectable so tests describe a host with a fixture folder and a map.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "control/messages.h"

namespace cluster::agent {

// Interface name -> its IPv4 addresses as "ADDRESS/PREFIX".
using Ipv4AddressMap = std::map<std::string, std::vector<std::string>>;

// True for the interfaces of containers, bridges, overlays and VPNs:
// docker*, virbr*, tailscale*, lxcbr*, br-*, veth*, cni*, flannel*, cali*,
// vxlan*, zt*, kube*. They carry container or VPN traffic, never the
// cluster's NCCL traffic, so `check` never chooses one: NCCL over docker0 or
// a tailscale tunnel either fails to connect across hosts or runs at a
// fraction of the NIC's speed.
bool IsVirtualInterfaceName(std::string_view name);

// The IPv4 addresses of every interface, from getifaddrs(3). Empty when it fails.
Ipv4AddressMap ReadIpv4Addresses();

// One entry per folder (or link to one) under `sysfs_net` (normally
// /sys/class/net), sorted by name, with `addresses[name]`.
// - up: IFF_UP in `flags` and operstate "up" or "unknown" ("unknown" is what
//   lo and many tunnels report while they work); without a readable `flags`
//   file, operstate "up" alone.
// - loopback: IFF_LOOPBACK in `flags`.
// - speed_mbps: nullopt when `speed` is unreadable (a down link: EINVAL) or
//   not positive (-1: the driver does not know).
// A missing folder gives an empty list.
std::vector<control::InterfaceFacts> ReadInterfaces(const std::filesystem::path& sysfs_net,
                                                    const Ipv4AddressMap& addresses);

}  // namespace cluster::agent
