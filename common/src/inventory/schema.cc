// The top level of the inventory, and its cluster, ssh and network sections.
#include "schema.h"

#include <cctype>

#include <fmt/format.h>

#include "value_syntax.h"

namespace cluster::inventory {
namespace {

const std::vector<std::string_view> kTopLevelKeys = {"cluster", "ssh", "network", "hosts", "artifacts", "runtime"};
const std::vector<std::string_view> kSshKeys = {"user", "port", "identity_file", "known_hosts_file",
                                                "connect_timeout"};

// A cluster name the user probably meant: lowercase, other characters as '-'.
std::string SuggestClusterName(std::string_view name) {
  std::string out;
  for (char c : name) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool ok = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9');
    if (ok) {
      out += lower;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.substr(0, 63);
}

void ReadCluster(const Mapping& root, Inventory* inventory, LoadContext* ctx) {
  auto field = root.Require("cluster", "add cluster: {name: NAME}, the cluster's name");
  if (!field) return;
  auto cluster = ReadMapping(*field, ctx, {"name"}, "a mapping with the cluster's name");
  if (!cluster) return;
  auto name_field = cluster->Require("name", "add name: NAME, e.g. name: t4-lab");
  if (!name_field) return;
  auto name = ReadString(*name_field, ctx, "a cluster name");
  if (!name) return;
  if (Status s = CheckClusterName(*name); !s.ok()) {
    std::string hint = s.message();
    const std::string suggestion = SuggestClusterName(*name);
    if (!suggestion.empty() && CheckClusterName(suggestion).ok()) hint += fmt::format("; try {}", suggestion);
    ReportMismatch(*name_field, ctx, "a name of a-z, 0-9 and \"-\" (at most 63, not starting with \"-\")", hint);
    return;
  }
  inventory->cluster_name = *name;
}

void ReadNetwork(const Mapping& root, Inventory* inventory, LoadContext* ctx) {
  auto field = root.Get("network");
  if (!field) return;
  auto network = ReadMapping(*field, ctx, {"interface", "subnet", "agent_port"},
                             "a mapping with interface, subnet and agent_port");
  if (!network) return;

  if (auto f = network->Get("interface")) {
    constexpr std::string_view kExpected = "\"auto\" or an interface name such as ens1f0";
    if (auto name = ReadString(*f, ctx, kExpected)) {
      if (*name == "auto") {
        inventory->network.interface = *name;
      } else if (Status s = CheckInterfaceName(*name); !s.ok()) {
        ReportMismatch(*f, ctx, kExpected, s.message() + "; Linux names have 1 to 15 characters, no \"/\", \":\" or spaces");
      } else {
        inventory->network.interface = *name;
      }
    }
  }

  if (auto f = network->Get("agent_port")) {
    if (auto port = ReadInteger(*f, ctx, 1, 65535)) inventory->network.agent_port = static_cast<int>(*port);
  }

  if (auto f = network->Get("subnet")) {
    constexpr std::string_view kExpected = "a subnet such as 10.0.0.0/24";
    if (auto text = ReadString(*f, ctx, kExpected)) {
      auto subnet = ParseSubnet(*text);
      if (!subnet.ok()) {
        ReportMismatch(*f, ctx, kExpected, subnet.status().message());
      } else {
        if (subnet->HasHostBits()) {
          ctx->Warning(f->value_at, f->path, fmt::format("{} has host bits set; read as {}", *text, subnet->Canonical()),
                       fmt::format("write {}", subnet->Canonical()));
        }
        inventory->network.subnet = subnet->Canonical();
      }
    }
  }
}

}  // namespace

Inventory ReadInventory(const Field& root_field, LoadContext* ctx) {
  Inventory inventory;
  Record(root_field, ctx);
  if (!root_field.value.IsMap()) {
    ReportMismatch(root_field, ctx, "a mapping with keys cluster, hosts, artifacts and runtime",
                   root_field.value.IsNull() ? "the file is empty; docs/inventory.md has an example" : "");
    return inventory;
  }
  Mapping root(root_field, ctx, kTopLevelKeys);
  ReadCluster(root, &inventory, ctx);
  if (auto f = root.Get("ssh")) inventory.ssh = ReadSshSettings(*f, ctx);
  ReadNetwork(root, &inventory, ctx);
  ReadHosts(root, &inventory, ctx);  // after ssh: hosts inherit its settings
  ReadArtifacts(root, &inventory, ctx);
  ReadRuntime(root, &inventory, ctx);
  return inventory;
}

SshSettings ReadSshSettings(const Field& field, LoadContext* ctx) {
  SshSettings ssh;
  auto block = ReadMapping(field, ctx, kSshKeys, "a mapping of SSH settings");
  if (!block) return ssh;
  if (auto f = block->Get("user")) {
    if (auto user = ReadString(*f, ctx, "a user name")) {
      if (user->find_first_of(" \t@:") != std::string::npos) {
        ReportMismatch(*f, ctx, "a user name", "it contains a space, \"@\" or \":\"; give only the name");
      } else {
        ssh.user = *user;
      }
    }
  }
  if (auto f = block->Get("port")) {
    if (auto port = ReadInteger(*f, ctx, 1, 65535)) ssh.port = static_cast<int>(*port);
  }
  if (auto f = block->Get("identity_file")) ssh.identity_file = ReadLocalPath(*f, ctx);
  if (auto f = block->Get("known_hosts_file")) ssh.known_hosts_file = ReadLocalPath(*f, ctx);
  if (auto f = block->Get("connect_timeout")) {
    if (auto seconds = ReadInteger(*f, ctx, 1, 3600, "a number of seconds from 1 to 3600")) {
      ssh.connect_timeout_s = static_cast<int>(*seconds);
    }
  }
  return ssh;
}

SshSettings MergeSshSettings(const SshSettings& defaults, const SshSettings& host) {
  SshSettings out = defaults;
  if (host.user) out.user = host.user;
  if (host.port) out.port = host.port;
  if (host.identity_file) out.identity_file = host.identity_file;
  if (host.known_hosts_file) out.known_hosts_file = host.known_hosts_file;
  if (host.connect_timeout_s) out.connect_timeout_s = host.connect_timeout_s;
  return out;
}

}  // namespace cluster::inventory
