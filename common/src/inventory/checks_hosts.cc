#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <system_error>

#include <fmt/format.h>

#include "checks.h"
#include "common/spelling.h"
#include "value_syntax.h"

namespace cluster::inventory {
namespace {

std::string HostPath(std::size_t i) { return fmt::format("hosts[{}]", i); }

// Two spellings of one address compare equal: IP addresses by value
// ("fd00::1" and "fd00:0::1"), DNS names without case or a final dot.
std::string CanonicalAddress(const std::string& address) {
  if (auto ip = ParseIpAddress(address); ip.ok()) return FormatIpAddress(*ip);
  std::string out = address;
  if (!out.empty() && out.back() == '.') out.pop_back();
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// "hosts[0] gpu1 at line 5", to name the other host of a conflict.
std::string Describe(const Inventory& inventory, std::size_t i, const LoadContext& ctx) {
  const std::string name = inventory.hosts[i].name.empty() ? "" : " " + inventory.hosts[i].name;
  return fmt::format("{}{} at line {}", HostPath(i), name, ctx.locations().Value(HostPath(i)).line);
}

void CheckUniqueNamesAndAddresses(const Inventory& inventory, LoadContext* ctx) {
  std::map<std::string, std::size_t> names, addresses, data_addresses;
  for (std::size_t i = 0; i < inventory.hosts.size(); ++i) {
    const Host& host = inventory.hosts[i];
    const std::string name_path = HostPath(i) + ".name";
    if (!host.name.empty() && !ctx->Failed(name_path)) {
      auto [first, inserted] = names.emplace(host.name, i);
      if (!inserted) {
        ctx->Error(ctx->locations().Value(name_path), name_path,
                   fmt::format("duplicate host name \"{}\": {} has it too", host.name,
                               Describe(inventory, first->second, *ctx)),
                   "give each host its own name");
      }
    }
    const std::string address_path = HostPath(i) + ".address";
    if (!host.address.empty() && !ctx->Failed(address_path)) {
      auto [first, inserted] = addresses.emplace(CanonicalAddress(host.address), i);
      if (!inserted) {
        ctx->Error(ctx->locations().Value(address_path), address_path,
                   fmt::format("duplicate address \"{}\": {} has it too", host.address,
                               Describe(inventory, first->second, *ctx)),
                   "each host is one server with its own address; list a server once, with all its GPUs");
      }
    }
    const std::string data_path = HostPath(i) + ".data_address";
    if (host.data_address) {
      auto [first, inserted] = data_addresses.emplace(CanonicalAddress(*host.data_address), i);
      if (!inserted) {
        ctx->Error(ctx->locations().Value(data_path), data_path,
                   fmt::format("duplicate data_address \"{}\": {} has it too", *host.data_address,
                               Describe(inventory, first->second, *ctx)),
                   "give each host the address of its own cluster NIC");
      }
    }
  }
}

void CheckOneHead(const Inventory& inventory, LoadContext* ctx) {
  std::optional<std::size_t> head;
  for (std::size_t i = 0; i < inventory.hosts.size(); ++i) {
    if (!inventory.hosts[i].head) continue;
    if (!head) {
      head = i;
      continue;
    }
    const std::string path = HostPath(i) + ".role";
    ctx->Error(ctx->locations().Value(path), path,
               fmt::format("a second head: {} is the head already", Describe(inventory, *head, *ctx)),
               "mark one host role: head, or none to make the first host the head");
  }
}

void CheckSubnet(const Inventory& inventory, LoadContext* ctx) {
  if (!inventory.network.subnet || ctx->Failed("network.subnet")) return;
  auto subnet = ParseSubnet(*inventory.network.subnet);
  if (!subnet.ok()) return;
  for (std::size_t i = 0; i < inventory.hosts.size(); ++i) {
    // The subnet is the cluster traffic's: the data address where one is given.
    const Host& host = inventory.hosts[i];
    const std::string path = HostPath(i) + (host.data_address ? ".data_address" : ".address");
    auto ip = ParseIpAddress(host.ClusterAddress());
    if (!ip.ok() || ctx->Failed(path) || ctx->Failed(HostPath(i) + ".data_address")) continue;  // a DNS name resolves only at `check`
    if (!subnet->Contains(*ip)) {
      ctx->Error(ctx->locations().Value(path), path,
                 fmt::format("{} is outside network.subnet {} at line {}", host.ClusterAddress(),
                             *inventory.network.subnet, ctx->locations().Value("network.subnet").line),
                 "fix the address or the subnet");
    }
  }
}

void CheckModelPaths(const Inventory& inventory, LoadContext* ctx) {
  if (NamesInDoubt("artifacts.models", inventory.models.size(), *ctx)) return;
  std::vector<std::string_view> models;
  for (const Model& m : inventory.models) models.push_back(m.name);
  for (std::size_t i = 0; i < inventory.hosts.size(); ++i) {
    for (const auto& [name, path] : inventory.hosts[i].model_paths) {
      if (inventory.FindModel(name)) continue;
      const std::string key = fmt::format("{}.model_paths.{}", HostPath(i), name);
      std::string hint = models.empty() ? "artifacts.models is empty"
                                        : fmt::format("artifacts.models has {}", JoinAlternatives(models));
      if (auto guess = ClosestMatch(name, models)) hint = fmt::format("did you mean {}?", *guess);
      ctx->Error(ctx->locations().Key(key), key, fmt::format("no model named \"{}\" in artifacts.models", name),
                 hint);
    }
  }
}

void CheckLocalHosts(const Inventory& inventory, LoadContext* ctx) {
  for (std::size_t i = 0; i < inventory.hosts.size(); ++i) {
    const std::string path = HostPath(i) + ".ssh";
    if (inventory.hosts[i].transport == Transport::kLocal && ctx->locations().Has(path)) {
      ctx->Warning(ctx->locations().Key(path), path, "ignored: this host has transport local, so no SSH",
                   "remove it, or use transport: ssh");
    }
  }
}

// A missing identity file is a warning only: the key may be made, or the
// inventory checked, on another machine than the one that runs `push`.
void CheckIdentityFile(const std::optional<std::filesystem::path>& file, const std::string& path,
                       LoadContext* ctx) {
  if (!file || !ctx->locations().Has(path) || ctx->Failed(path)) return;
  std::error_code ec;
  if (!std::filesystem::exists(*file, ec)) {
    ctx->Warning(ctx->locations().Value(path), path, fmt::format("file {} does not exist", file->string()),
                 "SSH will fail to log in with it");
  }
}

}  // namespace

bool NamesInDoubt(std::string_view list_path, std::size_t count, const LoadContext& ctx) {
  if (ctx.FailedAt(list_path)) return true;
  for (std::size_t i = 0; i < count; ++i) {
    if (ctx.Failed(fmt::format("{}[{}].name", list_path, i))) return true;
  }
  return false;
}

void CheckHosts(const Inventory& inventory, LoadContext* ctx) {
  CheckUniqueNamesAndAddresses(inventory, ctx);
  CheckOneHead(inventory, ctx);
  CheckSubnet(inventory, ctx);
  CheckModelPaths(inventory, ctx);
  CheckLocalHosts(inventory, ctx);
  CheckIdentityFile(inventory.ssh.identity_file, "ssh.identity_file", ctx);
  for (std::size_t i = 0; i < inventory.hosts.size(); ++i) {
    CheckIdentityFile(inventory.hosts[i].ssh.identity_file, HostPath(i) + ".ssh.identity_file", ctx);
  }
}

}  // namespace cluster::inventory
