// The `hosts` section: one entry per server.
#include <limits>

#include <fmt/format.h>

#include "schema.h"
#include "value_syntax.h"

namespace cluster::inventory {
namespace {

const std::vector<std::string_view> kHostKeys = {"name",  "address",    "data_address", "interface",
                                                 "role",  "transport",  "gpus",         "gpu_model",
                                                 "gpu_memory", "labels", "ssh",         "model_paths"};

void ReadGpus(const Field& f, Host* host, LoadContext* ctx) {
  if (f.value.IsScalar() && f.value.Scalar() == "auto") return;  // nullopt: `check` discovers them
  if (auto n = ReadInteger(f, ctx, 0, std::numeric_limits<int>::max(), "a whole number >= 0 or \"auto\"")) host->gpus = static_cast<int>(*n);
}

void ReadGpuMemory(const Field& f, Host* host, LoadContext* ctx) {
  constexpr std::string_view kExpected = "a size such as 16GiB";
  if (!f.value.IsScalar()) {
    ReportMismatch(f, ctx, kExpected);
    return;
  }
  auto bytes = ParseByteSize(f.value.Scalar());
  if (!bytes.ok()) {
    ReportMismatch(f, ctx, kExpected, bytes.status().message());
    return;
  }
  host->gpu_memory_bytes = *bytes;
}

// model_paths: model name -> absolute path on this host. Whether each name
// is a model of artifacts.models is checked later (CheckHosts).
void ReadModelPaths(const Field& f, Host* host, LoadContext* ctx) {
  if (f.value.IsNull()) return;
  if (!f.value.IsMap()) {
    ReportMismatch(f, ctx, "a mapping of model names to paths");
    return;
  }
  for (const Field& entry : MappingEntries(f, ctx)) {
    Record(entry, ctx);
    if (auto path = ReadHostPath(entry, ctx)) host->model_paths[entry.name] = *path;
  }
}

Host ReadHost(const Field& item, const SshSettings& ssh_defaults, LoadContext* ctx) {
  Host host;
  host.location = item.value_at;
  host.ssh = ssh_defaults;
  auto entry = ReadMapping(item, ctx, kHostKeys, "a host: a mapping with name and address");
  if (!entry) return host;

  if (auto f = entry->Require("name", "add name: NAME, e.g. name: gpu1")) {
    if (auto name = ReadString(*f, ctx, "a host name")) {
      if (Status s = CheckHostName(*name); !s.ok()) {
        ReportMismatch(*f, ctx, "a host name of letters, digits, \".\", \"_\" and \"-\" (at most 63)",
                       s.message());
      } else {
        host.name = *name;
      }
    }
  }
  if (auto f = entry->Require("address", "add address: with the host's IP address or DNS name")) {
    constexpr std::string_view kExpected = "an IP address or DNS name";
    if (auto address = ReadString(*f, ctx, kExpected)) {
      if (Status s = CheckHostAddress(*address); !s.ok()) {
        ReportMismatch(*f, ctx, kExpected, s.message());
      } else {
        host.address = *address;
      }
    }
  }
  if (auto f = entry->Get("data_address")) {
    constexpr std::string_view kExpected = "an IP address (NCCL and Ray take no DNS names)";
    if (auto address = ReadString(*f, ctx, kExpected)) {
      if (auto ip = ParseIpAddress(*address); !ip.ok()) {
        ReportMismatch(*f, ctx, kExpected);
      } else {
        host.data_address = *address;
      }
    }
  }
  if (auto f = entry->Get("interface")) {
    constexpr std::string_view kExpected = "an interface name such as ens1f0";
    if (auto name = ReadString(*f, ctx, kExpected)) {
      if (Status s = CheckInterfaceName(*name); !s.ok()) {
        ReportMismatch(*f, ctx, kExpected,
                       s.message() + "; Linux names have 1 to 15 characters, no \"/\", \":\" or spaces");
      } else {
        host.interface = *name;
      }
    }
  }
  if (auto f = entry->Get("role")) {
    if (f->value.IsScalar() && f->value.Scalar() == "head") {
      host.head = true;
    } else {
      ReportMismatch(*f, ctx, "head", "only the head has a role; leave role out for the other hosts");
    }
  }
  if (auto f = entry->Get("transport")) {
    if (auto i = ReadWord(*f, ctx, {"ssh", "local"})) host.transport = *i == 0 ? Transport::kSsh : Transport::kLocal;
  }
  if (auto f = entry->Get("gpus")) ReadGpus(*f, &host, ctx);
  if (auto f = entry->Get("gpu_model")) host.gpu_model = ReadString(*f, ctx, "a GPU model such as T4");
  if (auto f = entry->Get("gpu_memory")) ReadGpuMemory(*f, &host, ctx);
  if (auto f = entry->Get("labels")) {
    if (auto labels = ReadStringMap(*f, ctx)) host.labels = std::move(*labels);
  }
  if (auto f = entry->Get("ssh")) host.ssh = MergeSshSettings(ssh_defaults, ReadSshSettings(*f, ctx));
  if (auto f = entry->Get("model_paths")) ReadModelPaths(*f, &host, ctx);
  return host;
}

}  // namespace

void ReadHosts(const Mapping& root, Inventory* inventory, LoadContext* ctx) {
  auto field = root.Require("hosts", "add hosts: with a list of servers, e.g. - {name: gpu1, address: 10.0.0.11}");
  if (!field) return;
  if (field->value.IsSequence() && field->value.size() == 0) {
    ctx->Error(field->value_at, field->path, "expected a list of at least one host, found an empty list");
    return;
  }
  if (field->value.IsNull()) {
    ReportMismatch(*field, ctx, "a list of at least one host");
    return;
  }
  if (field->value.IsMap()) {
    ReportMismatch(*field, ctx, "a list of hosts", "start each host with \"- \", e.g. - name: gpu1");
    return;
  }
  auto items = ReadList(*field, ctx, "a list of hosts");
  if (!items) return;
  // Every item yields a Host, even a broken one, so that the count of hosts
  // stays right for the parallelism checks.
  for (const Field& item : *items) inventory->hosts.push_back(ReadHost(item, inventory->ssh, ctx));
}

}  // namespace cluster::inventory
