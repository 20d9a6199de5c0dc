// clusterctl push [-f FILE] [--accept-new-host-keys] [--relay star|chain] [--parallel N] [--image-dir DIR]
//                 [--agent PATH] [--rehash] [--json | --json-lines]
//
// Copies every model folder and image tarball of the inventory to every host,
// verified and resumable, all hosts at once (docs/push.md). Prints progress,
// then a summary table (--json: the summary as one document; --json-lines:
// one object per event, the last one the summary). Exit 0 when
// every host has everything, 1 when any host failed or the push was
// interrupted, 2 for bad flags or an invalid inventory.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "common/untrusted_text.h"
#include "cli/diagnostics_output.h"
#include "cli/table.h"
#include "cli/transfer/chain_push.h"
#include "cli/transfer/push_progress.h"
#include "cli/transfer/push_run.h"
#include "cli/transfer/size_text.h"
#include "common/files.h"
#include "common/inventory/loader.h"
#include "common/logging.h"
#include "common/manifest.h"

#ifndef CLUSTERCTL_VERSION
#define CLUSTERCTL_VERSION "0.1.0"
#endif

namespace cluster::cli {
namespace {

constexpr const char* kFooter =
    "Builds a manifest (size and XXH3-128 hash of every file; hashes are cached in\n"
    "~/.cache/clusterctl/hash-cache), installs clusterd on each host (the host bundle, with\n"
    "the engine and its libraries, when there is one: docs/install.md), asks each host what\n"
    "it has, checks free disk, then sends only what is missing or different. Partial\n"
    "files resume from their verified offset; each file is hash-checked on the host\n"
    "before it is renamed into place. Image tarballs are `docker load`ed unless the\n"
    "host already has the image. Ctrl-C stops cleanly; push again to resume.\n"
    "\n"
    "Examples:\n"
    "  clusterctl push -f cluster.yaml\n"
    "  clusterctl push -f cluster.yaml --accept-new-host-keys   # first contact with new hosts\n"
    "  clusterctl push -f cluster.yaml --relay chain            # operator link carries each byte once\n"
    "  clusterctl push -f cluster.yaml --json | jq '.hosts[] | select(.ok | not)'\n"
    "  clusterctl push -f cluster.yaml --json-lines | jq -c 'select(.event==\"file\")'\n"
    "\n"
    "Exit codes: 0 every host has everything, 1 a host failed or interrupted, 2 usage or inventory error.";

struct PushFlags {
  std::string file;
  PushOptions options;
  std::string agent_path;
  std::string bundle_path;
  std::string relay = "star";
  bool rehash = false;
};

// Ctrl-C: the handler may only touch a lock-free atomic, so this one flag is
// file-level state. Workers poll it between chunks.
std::atomic<bool> g_interrupted{false};
extern "C" void OnInterrupt(int) { g_interrupted.store(true); }

StatusOr<std::vector<Artifact>> BuildArtifacts(const inventory::Inventory& inv, HashCache& cache, bool rehash) {
  std::vector<Artifact> artifacts;
  for (const auto& m : inv.models) {
    Artifact a;
    a.kind = Artifact::Kind::kModel;
    a.name = m.name;
    a.local_root = m.source;
    LOG_INFO("hashing model {} ({})", m.name, m.source.string());
    CLUSTER_ASSIGN_OR_RETURN(a.manifest, BuildManifest(m.source, cache, !rehash));
    artifacts.push_back(std::move(a));
  }
  for (const auto& img : inv.images) {
    Artifact a;
    a.kind = Artifact::Kind::kImage;
    a.name = img.name;
    a.local_root = img.file;
    CLUSTER_ASSIGN_OR_RETURN(a.docker, ReadDockerArchive(img.file));
    LOG_INFO("hashing image {} ({})", img.name, img.file.string());
    CLUSTER_ASSIGN_OR_RETURN(a.manifest, BuildManifest(img.file, cache, !rehash));
    artifacts.push_back(std::move(a));
  }
  return artifacts;
}

nlohmann::ordered_json ReportJson(const HostReport& r) {
  nlohmann::ordered_json j{{"host", r.host}, {"ok", r.ok}};
  j["error"] = r.ok ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.error);
  j["bytes_sent"] = r.bytes_sent;
  j["bytes_skipped"] = r.bytes_skipped;
  j["bytes_resumed"] = r.bytes_resumed;
  j["files_sent"] = r.files_sent;
  j["files_skipped"] = r.files_skipped;
  j["files_resumed"] = r.files_resumed;
  j["files_replaced"] = r.files_replaced;
  j["files_verified"] = r.files_verified;
  j["images_loaded"] = r.images_loaded;
  j["images_present"] = r.images_present;
  j["seconds"] = r.seconds;
  return j;
}

void PrintSummary(const std::vector<HostReport>& reports) {
  Table table({"HOST", "STATUS", "SENT", "SKIPPED", "RESUMED", "TIME", "RATE", "VERIFIED"});
  for (size_t c : {2, 3, 4, 5, 6, 7}) table.AlignRight(c);
  for (const auto& r : reports) {
    table.AddRow({r.host, r.ok ? "ok" : "FAILED", SizeText(r.bytes_sent),
                  fmt::format("{} ({})", SizeText(r.bytes_skipped), r.files_skipped),
                  fmt::format("{} ({})", SizeText(r.bytes_resumed), r.files_resumed), DurationText(r.seconds),
                  RateText(r.seconds > 0 ? r.bytes_sent / r.seconds : 0), std::to_string(r.files_verified)});
  }
  std::cout << table.Render();
  for (const auto& r : reports) {
    if (!r.images_loaded.empty()) std::cout << PrintableText(fmt::format("{}: loaded {}", r.host, fmt::join(r.images_loaded, ", "))) << "\n";
    if (!r.images_present.empty()) {
      std::cout << PrintableText(fmt::format("{}: already loaded {}", r.host, fmt::join(r.images_present, ", "))) << "\n";
    }
  }
  for (const auto& r : reports) {
    if (!r.ok) std::cerr << "error: " << PrintableText(r.error) << "\n";
  }
}

int RunPushCommand(PushFlags flags, const GlobalOptions& global) {
  flags.options.chain = flags.relay == "chain";
  auto file = InventoryFile(flags.file);
  if (!file.ok()) return ReportError(file.status(), global);
  inventory::LoadResult loaded = inventory::LoadInventory(*file);
  if (!global.json) PrintDiagnostics(loaded);
  if (!loaded.ok()) {
    if (global.json) PrintJson(LoadResultJson(*file, loaded));
    else std::cerr << *file << ": invalid; fix the inventory (clusterctl validate), then push again\n";
    return kExitUsageError;
  }
  const inventory::Inventory& inv = *loaded.inventory;
  HashCache cache(ResolvePath("~/.cache/clusterctl/hash-cache", "/"));
  cache.Load();
  auto agent =
      FindLocalAgent(flags.agent_path, flags.bundle_path, CLUSTERCTL_VERSION, flags.rehash ? nullptr : &cache);
  if (!agent.ok()) return ReportError(agent.status(), global);
  auto artifacts = BuildArtifacts(inv, cache, flags.rehash);
  if (Status saved = cache.Save(); !saved.ok()) LOG_WARNING("hash cache not saved: {}", saved.message());
  if (!artifacts.ok()) return ReportError(artifacts.status(), global);
  if (artifacts->empty()) {
    return ReportError(InvalidArgumentError(*file + ": artifacts has no models or images; nothing to push"), global);
  }

  std::vector<std::string> names;
  for (const auto& h : inv.hosts) names.push_back(h.name);
  // --json-lines: the events on stdout. Otherwise progress on stderr, so
  // that --json's stdout holds only the summary document.
  const auto mode = global.json_lines         ? PushProgress::Mode::kJson
                    : ::isatty(STDERR_FILENO) ? PushProgress::Mode::kTerminal
                                              : PushProgress::Mode::kPlain;
  PushProgress progress(mode, names);

  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  const auto jobs = PlanJobs(inv, *artifacts, flags.options);
  const auto reports = flags.options.chain ? RunChainPush(inv, jobs, *agent, flags.options, progress, g_interrupted)
                                           : RunPush(inv, jobs, *agent, flags.options, progress, g_interrupted);
  progress.Finish();

  bool all_ok = true;
  for (const auto& r : reports) all_ok = all_ok && r.ok;
  if (global.json) {
    nlohmann::ordered_json hosts = nlohmann::ordered_json::array();
    for (const auto& r : reports) hosts.push_back(ReportJson(r));
    nlohmann::ordered_json summary = nlohmann::ordered_json::object();
    if (global.json_lines) summary["event"] = "summary";  // the last event of the stream
    summary["ok"] = all_ok;
    summary["interrupted"] = g_interrupted.load();
    summary["hosts"] = hosts;
    PrintJson(summary);
  } else {
    PrintSummary(reports);
    if (g_interrupted.load()) std::cerr << "interrupted: partial files are kept on the hosts; push again to resume\n";
  }
  return all_ok ? kExitOk : kExitFailure;
}

}  // namespace

void AddPushCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run) {
  CLI::App* cmd = app.add_subcommand("push", "Copy models and images to every host, verified and resumable");
  auto flags = std::make_shared<PushFlags>();
  AddInventoryOption(cmd, flags->file);
  cmd->add_flag("--accept-new-host-keys", flags->options.accept_new_host_keys,
                "Record the keys of hosts not yet in known_hosts (a changed key is always refused)");
  cmd->add_option("--parallel", flags->options.parallel, "Hosts pushed at the same time")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--relay", flags->relay,
                  "star: this machine sends to every host; chain: it sends each byte once, to the first host, "
                  "which forwards it to the next while it receives")
      ->check(CLI::IsMember({"star", "chain"}))
      ->capture_default_str();
  cmd->add_option("--image-dir", flags->options.image_dir, "Folder on the hosts for image tarballs")
      ->capture_default_str()
      ->type_name("DIR");
  cmd->add_option("--agent", flags->agent_path, "The clusterd binary to copy to hosts (default: beside clusterctl)")
      ->type_name("PATH");
  cmd->add_option("--bundle", flags->bundle_path,
                  "The host bundle to install on hosts (default: the one in share/clusterctl/bundles beside clusterctl)")
      ->type_name("FILE");
  cmd->add_flag("--rehash", flags->rehash, "Hash local files again instead of trusting the hash cache");
  cmd->footer(std::string(kFooter) + "\n\n" +
              GlobalFlagsHelp("one document: the summary, per host (docs/push.md); progress stays on stderr",
                              "one object per event (phase, planned, progress, file, image, host_done), the "
                              "summary last",
                              "progress detail on stderr: hashing, each host's phases, every file sent, resumed "
                              "or skipped"));
  cmd->callback([flags, &global, run] { *run = [flags, &global] { return RunPushCommand(*flags, global); }; });
}

}  // namespace cluster::cli
