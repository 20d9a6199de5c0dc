// push_bench: the measurements of docs/benchmarks.md ("push"), printed as
// ratios measured in one run on this machine (scripts/bench-push runs it).
//
//   scp     One file to one host, no shaping: clusterctl push vs OpenSSH scp
//           on the same veth link (both warm: page cache, agent installed,
//           hash cached).
//   shaped  Four hosts, every link (the operator's too) shaped by tc to the
//           same rate: one host, then four with star and with chain, total
//           time as ratios to the one-host time.
//   noop    A push that has nothing to send (every file already there), to
//           one host and to four: the fixed cost of a push.
//
// Each measurement is repeated --reps times, interleaved (ours, scp, scp -O,
// ours, ...) so load from other work on the machine hits all alike; the
// median is reported, with the load average before and after.
//
// usage: push_bench CLUSTERCTL [--size-mb N] [--shaped-mb N] [--rate RATE] [--reps N] [--only PARTS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/files.h"
#include "common/subprocess.h"
#include "harness/test_cluster.h"

using namespace cluster;
namespace fs = std::filesystem;

namespace {

std::string g_clusterctl;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "push_bench: %s\n", why.c_str());
  std::exit(1);
}

void Check(const Status& s) {
  if (!s.ok()) Die(s.message());
}

void MakeFile(const fs::path& path, std::uint64_t mb) {
  fs::create_directories(path.parent_path());
  auto r = RunProcess({"sh", "-c", fmt::format("head -c {}M /dev/urandom > '{}'", mb, path.string())});
  if (!r.ok() || r->exit_code != 0) Die("cannot make " + path.string());
}

fs::path WriteInventory(const harness::TestCluster& c, int hosts, const fs::path& model_dir, const std::string& name) {
  std::string y = fmt::format(
      "cluster:\n  name: bench\nssh:\n  user: root\n  identity_file: {}\n  known_hosts_file: {}\nhosts:\n",
      c.IdentityFile().string(), c.KnownHostsFile().string());
  for (int i = 0; i < hosts; ++i) {
    y += fmt::format("  - name: {}\n    address: {}\n    gpus: 0\n", c.HostName(i), c.HostAddress(i));
  }
  y += fmt::format("artifacts:\n  models:\n    - name: m\n      source: {}\n      path: /srv/m\n      config: "
                   "deepseek-r1-distill-qwen-7b\nruntime:\n  kind: engine\n  model: m\n  pipeline_parallel: {}\n"
                   "  engine:\n    device: cpu\n", model_dir.string(), hosts);
  fs::path file = c.dir() / name;
  Check(WriteFileAtomically(file, y));
  return file;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Seconds(const std::function<void()>& f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void RunOk(const harness::TestCluster& c, const std::vector<std::string>& argv) {
  auto r = c.RunOnOperator(argv);
  if (!r.ok() || r->exit_code != 0) Die(fmt::format("`{}` failed: {}", argv[0], r.ok() ? r->err : r.status().message()));
}

void Push(const harness::TestCluster& c, const fs::path& inventory, const std::string& relay) {
  RunOk(c, {g_clusterctl, "push", "-f", inventory.string(), "--relay", relay});
}

void ClearHosts(const harness::TestCluster& c, int hosts) {
  for (int i = 0; i < hosts; ++i) {
    std::error_code ec;
    fs::remove_all(c.HostPath(i, "/srv/m"), ec);
    fs::remove(c.HostPath(i, "/srv/scp.bin"), ec);
  }
}

std::string LoadAverage() {
  auto text = ReadFile("/proc/loadavg");
  if (!text.ok()) return "?";
  std::string t = *text;
  return t.substr(0, t.find(' ', t.find(' ', t.find(' ') + 1) + 1));  // the 1, 5 and 15 minute averages
}

bool Wanted(const std::string& only, const std::string& part) {
  return only.empty() || ("," + only + ",").find("," + part + ",") != std::string::npos;
}

constexpr char kUsage[] =
    "usage: push_bench CLUSTERCTL [--size-mb N] [--shaped-mb N] [--rate RATE] [--reps N] "
    "[--only scp,shaped,star,noop]";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die(kUsage);
  g_clusterctl = argv[1];
  std::uint64_t size_mb = 2048, shaped_mb = 512;
  std::string rate = "400mbit", only;
  int reps = 3;
  for (int i = 2; i < argc; i += 2) {
    if (i + 1 >= argc) Die(kUsage);
    if (!std::strcmp(argv[i], "--size-mb")) size_mb = std::stoull(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--shaped-mb")) shaped_mb = std::stoull(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rate")) rate = argv[i + 1];
    else if (!std::strcmp(argv[i], "--reps")) reps = std::max(1, std::stoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
    else Die(kUsage);
  }
  if (auto why = harness::TestCluster::WhyUnavailable()) {
    std::printf("skipped: %s\n", why->c_str());
    return 4;
  }
  harness::TestClusterOptions options;
  options.hosts = 4;
  auto made = harness::TestCluster::Create(options);
  if (!made.ok()) Die(made.status().message());
  harness::TestCluster& c = **made;
  std::printf("load average (1, 5, 15 min) at the start: %s\n", LoadAverage().c_str());

  if (Wanted(only, "scp")) {
    // One large file, one host: ours vs scp.
    const fs::path big = c.dir() / "src-big" / "blob.bin";
    MakeFile(big, size_mb);
    const fs::path one_big = WriteInventory(c, 1, big.parent_path(), "one-big.yaml");
    Push(c, one_big, "star");  // warm-up: agent installed, hash cached, page cache warm
    std::vector<double> ours_runs, scp_runs, legacy_runs;
    const std::vector<std::string> scp_options = {"-q", "-i", c.IdentityFile().string(), "-o",
                                                  "UserKnownHostsFile=" + c.KnownHostsFile().string(), "-o",
                                                  "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"};
    auto scp = [&](bool legacy) {
      std::vector<std::string> command = {"scp"};
      if (legacy) command.push_back("-O");  // the legacy SCP protocol: one stream, like ours
      command.insert(command.end(), scp_options.begin(), scp_options.end());
      command.push_back(big.string());
      command.push_back("root@" + c.HostAddress(0) + ":/srv/scp.bin");
      RunOk(c, command);
    };
    for (int r = 0; r < reps; ++r) {
      ClearHosts(c, 1);
      ours_runs.push_back(Seconds([&] { Push(c, one_big, "star"); }));
      ClearHosts(c, 1);
      scp_runs.push_back(Seconds([&] { scp(false); }));
      ClearHosts(c, 1);
      legacy_runs.push_back(Seconds([&] { scp(true); }));
    }
    const double ours = Median(ours_runs), scp_sftp = Median(scp_runs), scp_legacy = Median(legacy_runs);
    std::printf("one %llu MiB file to one host (veth, no shaping), median of %d:\n",
                static_cast<unsigned long long>(size_mb), reps);
    std::printf("  clusterctl push  %7.2f s  %7.1f MiB/s\n", ours, size_mb / ours);
    std::printf("  scp (SFTP)       %7.2f s  %7.1f MiB/s\n", scp_sftp, size_mb / scp_sftp);
    std::printf("  scp -O (legacy)  %7.2f s  %7.1f MiB/s\n", scp_legacy, size_mb / scp_legacy);
    std::printf("  throughput ratio ours/scp = %.2f, ours/scp -O = %.2f\n", scp_sftp / ours, scp_legacy / ours);
    std::fflush(stdout);
    ClearHosts(c, 1);
    fs::remove_all(big.parent_path());
  }

  // Every link shaped to the same rate (tc tbf on both ends of each veth,
  // the operator's too): one host, then four hosts chain (and star).
  const bool shaped = Wanted(only, "shaped"), star = Wanted(only, "star");  // star: shaped, and star too
  if (!shaped && !star && !Wanted(only, "noop")) return 0;
  const fs::path model = c.dir() / "src-shaped" / "blob.bin";
  MakeFile(model, shaped_mb);
  for (int i = 0; i < 4; ++i) Check(c.LimitRate(i, rate));
  Check(c.LimitOperatorRate(rate));
  const fs::path one = WriteInventory(c, 1, model.parent_path(), "one.yaml");
  const fs::path four = WriteInventory(c, 4, model.parent_path(), "four.yaml");
  Push(c, four, "star");  // warm-up: agents on all four hosts, hash cached
  std::printf("every link shaped by tc tbf (rate %s, burst 256kb, latency 100ms) on both ends of its veth, the "
              "operator's too\n", rate.c_str());
  if (shaped || star) {
    std::vector<double> one_runs, star_runs, chain_runs;
    for (int r = 0; r < reps; ++r) {
      ClearHosts(c, 4);
      one_runs.push_back(Seconds([&] { Push(c, one, "star"); }));
      if (star) {
        ClearHosts(c, 4);
        star_runs.push_back(Seconds([&] { Push(c, four, "star"); }));
      }
      ClearHosts(c, 4);
      chain_runs.push_back(Seconds([&] { Push(c, four, "chain"); }));
    }
    const double t1 = Median(one_runs), chain = Median(chain_runs);
    std::printf("one %llu MiB file, median of %d:\n", static_cast<unsigned long long>(shaped_mb), reps);
    std::printf("  1 host           %7.2f s  (1.00)\n", t1);
    if (star) std::printf("  4 hosts, star    %7.2f s  (%.2f x one host)\n", Median(star_runs), Median(star_runs) / t1);
    std::printf("  4 hosts, chain   %7.2f s  (%.2f x one host)\n", chain, chain / t1);
    std::fflush(stdout);
  }

  if (Wanted(only, "noop")) {
    // Every file already on every host: what a push costs when it has nothing to send.
    Push(c, four, "chain");
    std::vector<double> one_runs, star_runs, chain_runs;
    for (int r = 0; r < reps; ++r) {
      one_runs.push_back(Seconds([&] { Push(c, one, "star"); }));
      star_runs.push_back(Seconds([&] { Push(c, four, "star"); }));
      chain_runs.push_back(Seconds([&] { Push(c, four, "chain"); }));
    }
    std::printf("a push with nothing to send (the %llu MiB file already on every host), median of %d:\n",
                static_cast<unsigned long long>(shaped_mb), reps);
    std::printf("  1 host           %7.2f s\n", Median(one_runs));
    std::printf("  4 hosts, star    %7.2f s\n", Median(star_runs));
    std::printf("  4 hosts, chain   %7.2f s\n", Median(chain_runs));
  }
  ClearHosts(c, 4);
  std::printf("load average (1, 5, 15 min) at the end: %s\n", LoadAverage().c_str());
  return 0;
}
