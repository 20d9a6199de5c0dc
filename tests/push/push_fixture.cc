#include "push/push_fixture.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/files.h"
#include "skip.h"

namespace cluster::push_test {
namespace fs = std::filesystem;

const Json& PushRun::Host(const std::string& host) const {
  static const Json kNull;
  if (summary.is_object()) {
    for (const auto& h : summary["hosts"]) {
      if (h["host"] == host) return h;
    }
  }
  FAIL("no summary entry for host " << host << "\nstdout:\n" << out << "\nstderr:\n" << err);
  return kNull;
}

void WritePseudoRandomFile(const fs::path& path, std::size_t size, std::uint64_t seed) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  std::vector<std::uint64_t> block(1 << 17);
  std::size_t left = size;
  while (left > 0) {
    for (auto& w : block) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      w = x;
    }
    std::size_t n = std::min(left, block.size() * sizeof(std::uint64_t));
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    left -= n;
  }
}

PushFixture::PushFixture(const harness::TestClusterOptions& options) {
  if (auto why = harness::TestCluster::WhyUnavailable()) testing::SkipTest(*why);
  auto c = harness::TestCluster::Create(options);
  if (!c.ok()) FAIL("cannot set up the test cluster: " << c.status().message());
  cluster_ = std::move(*c);
}

ModelSpec PushFixture::MakeModel(const std::string& name,
                                 const std::vector<std::pair<std::string, std::size_t>>& files) {
  const fs::path root = cluster_->dir() / "src" / name;
  std::uint64_t seed = std::hash<std::string>{}(name);
  for (const auto& [file, size] : files) WritePseudoRandomFile(root / file, size, ++seed);
  return {name, root};
}

fs::path PushFixture::WriteInventory(const std::vector<ModelSpec>& models,
                                     const std::vector<std::pair<std::string, fs::path>>& images,
                                     const std::string& extra_hosts_yaml) {
  std::string y = fmt::format(
      "cluster:\n  name: push-test\nssh:\n  user: root\n  identity_file: {}\n  known_hosts_file: {}\n"
      "  connect_timeout: 5\nhosts:\n",
      cluster_->IdentityFile().string(), cluster_->KnownHostsFile().string());
  for (int i = 0; i < cluster_->host_count(); ++i) {
    y += fmt::format("  - name: {}\n    address: {}\n    gpus: 0\n", cluster_->HostName(i), cluster_->HostAddress(i));
  }
  y += extra_hosts_yaml;
  y += "artifacts:\n  models:\n";
  for (const auto& m : models) {
    y += fmt::format("    - name: {}\n      source: {}\n      path: /srv/models/{}\n      config: "
                     "deepseek-r1-distill-qwen-7b\n", m.name, m.source.string(), m.name);
  }
  if (!images.empty()) {
    y += "  images:\n";
    for (const auto& [name, file] : images) y += fmt::format("    - name: {}\n      file: {}\n", name, file.string());
  }
  const int stages = cluster_->host_count() + (extra_hosts_yaml.empty() ? 0 : 1);
  y += fmt::format("runtime:\n  kind: engine\n  model: {}\n  pipeline_parallel: {}\n  engine:\n    device: cpu\n",
                   models.at(0).name, stages);
  inventory_ = cluster_->dir() / "cluster.yaml";
  REQUIRE(WriteFileAtomically(inventory_, y).ok());
  return inventory_;
}

std::vector<std::string> PushFixture::PushArgv(const std::vector<std::string>& args, bool json) const {
  std::vector<std::string> argv = {CLUSTERCTL_BIN, "push", "-f", inventory_.string()};
  if (json) argv.push_back("--json-lines");
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

namespace {
PushRun Parse(const ProcessResult& r) {
  PushRun run;
  run.exit_code = r.exit_code;
  run.out = r.out;
  run.err = r.err;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    run.events.push_back(j);
    if (j.value("event", "") == "summary") run.summary = j;
  }
  return run;
}
}  // namespace

PushRun PushFixture::Push(const std::vector<std::string>& args) {
  auto r = cluster_->RunOnOperator(PushArgv(args, true));
  REQUIRE(r.ok());
  return Parse(*r);
}

PushRun PushFixture::PushHuman(const std::vector<std::string>& args) {
  auto r = cluster_->RunOnOperator(PushArgv(args, false));
  REQUIRE(r.ok());
  return Parse(*r);
}

}  // namespace cluster::push_test
