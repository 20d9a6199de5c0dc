// `clusterctl check`'s judgement (cli/lifecycle/check_report.h): each rule
// against hand-built facts of a small cluster, with the fix the operator
// reads; then the table and the --json document.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "cli/lifecycle/check_report.h"
#include "cli/lifecycle/check_rules.h"
#include "cli/lifecycle/check_run.h"
#include "builtin_runtime.h"
#include "fake_runtime.h"
#include "runtimes/engine/deployment.h"
#include "common/inventory/loader.h"
#include "skip.h"

using namespace cluster;
using namespace cluster::cli;
using Verdict = CheckRow::Verdict;

namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;

// Two hosts of four T4s, pipeline across them; `extra` replaces nothing and
// is appended to the runtime mapping (e.g. "dtype: bfloat16").
std::string TwoHosts(const std::string& network = "", const std::string& runtime = "dtype: float16") {
  return "cluster: {name: lab}\n" + network +
         "hosts:\n"
         "  - {name: gpu1, address: 10.0.0.11, role: head, gpus: 4, gpu_model: T4}\n"
         "  - {name: gpu2, address: 10.0.0.12}\n"
         "artifacts:\n"
         "  images: [{name: vllm/vllm-openai:v0.8.5, file: /i.tar}]\n"
         "  models: [{name: m, source: /m, path: /data/m}]\n"
         "runtime: {model: m, tensor_parallel: 4, pipeline_parallel: 2, " +
         runtime + "}\n";
}

inventory::Inventory Load(const std::string& yaml) {
  inventory::LoadOptions options;
  options.require_artifacts = false;
  auto result = inventory::LoadInventoryFromString(yaml, "/lab/cluster.yaml", options);
  for (const auto& d : result.diagnostics) INFO(d.ToString());
  REQUIRE(result.ok());
  return *result.inventory;
}

control::GpuFacts T4(int index) {
  control::GpuFacts g;
  g.index = index;
  g.name = "Tesla T4";
  g.memory_total_bytes = 15360 * kMiB;
  g.memory_used_bytes = 3 * kMiB;
  g.memory_free_bytes = 15357 * kMiB;
  g.compute_capability = "7.5";
  g.driver_version = "580.95.05";
  return g;
}

control::InterfaceFacts Interface(const std::string& name, const std::string& address, int mtu = 1500) {
  control::InterfaceFacts i;
  i.name = name;
  i.up = true;
  i.loopback = name == "lo";
  i.is_virtual = name.rfind("docker", 0) == 0 || name.rfind("tailscale", 0) == 0;
  i.mtu = mtu;
  if (!i.loopback && !i.is_virtual) i.speed_mbps = 25000;
  if (!address.empty()) i.addresses = {address};
  return i;
}

// A healthy host: 4 T4s, lo and eth0 with `cidr`, room, the model, port 8000 free.
HostObservation Healthy(const std::string& host, const std::string& cidr) {
  control::NodeFacts f;
  f.hostname = host;
  f.agent_version = "0.1.0";
  for (int i = 0; i < 4; ++i) f.gpus.push_back(T4(i));
  f.interfaces = {Interface("eth0", cidr), Interface("lo", "127.0.0.1/8", 65536)};
  f.shm_bytes = 32 * kGiB;
  f.disk_path = "/data";
  f.disk_free_bytes = 500 * kGiB;
  f.model_present = true;
  f.model_manifest_hash = "0123456789abcdef0123456789abcdef";
  f.ports = {control::PortFacts{8000, true, ""}};
  f.docker_present = true;
  f.docker_version = "27.3.1";
  HostObservation o;
  o.host = host;
  o.facts = f;
  o.clock_offset_ms = 3;
  return o;
}

std::vector<HostObservation> HealthyPair() {
  std::vector<HostObservation> hosts = {Healthy("gpu1", "10.0.0.11/24"), Healthy("gpu2", "10.0.0.12/24")};
  hosts[1].probe_to_head = control::ProbeReply{true, 1, "10.0.0.12", ""};
  return hosts;
}

std::vector<CheckRow> RowsWith(const CheckReport& report, Verdict verdict) {
  std::vector<CheckRow> rows;
  for (const CheckRow& r : report.rows)
    if (r.verdict == verdict) rows.push_back(r);
  return rows;
}

// The one row of `host`, `area` and `item`; fails the test unless there is exactly one.
CheckRow Row(const CheckReport& report, const std::string& host, const std::string& area, const std::string& item) {
  std::vector<CheckRow> found;
  for (const CheckRow& r : report.rows)
    if (r.host == host && r.area == area && r.item == item) found.push_back(r);
  INFO(host << " " << area << " " << item);
  REQUIRE(found.size() == 1);
  return found.front();
}

bool HasRow(const CheckReport& report, const std::string& host, const std::string& area, const std::string& item) {
  return std::any_of(report.rows.begin(), report.rows.end(), [&](const CheckRow& r) {
    return r.host == host && r.area == area && r.item == item;
  });
}

std::string Describe(const std::vector<CheckRow>& rows) {
  std::string out;
  for (const auto& r : rows) out += r.host + " " + r.area + " " + r.item + ": " + r.detail + " / " + r.fix + "\n";
  return out;
}

}  // namespace

// ---- a healthy cluster ---------------------------------------------------------

TEST_CASE("A healthy cluster passes every row and fixes each host's interface for up") {
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), HealthyPair());
  INFO(Describe(RowsWith(report, Verdict::kFail)) << Describe(RowsWith(report, Verdict::kWarn)));
  CHECK(RowsWith(report, Verdict::kFail).empty());
  CHECK(RowsWith(report, Verdict::kWarn).empty());
  CHECK_FALSE(report.failed());
  CHECK(Row(report, "gpu1", "gpu", "count").detail == "4 x Tesla T4");
  CHECK(Row(report, "gpu1", "gpu", "memory").detail == "15.0 GiB per GPU, least free 15.0 GiB (GPU 0)");
  const std::string cuda = EngineCudaRuntime();
  CHECK(Row(report, "gpu1", "gpu", "driver").detail ==
        (cuda.empty() ? "580.95.05" : "580.95.05 (the engine's CUDA " + cuda + " runtime needs 580 or newer)"));
  CHECK(Row(report, "gpu1", "network", "interface").detail == "eth0 10.0.0.11/24, MTU 1500, 25 Gb/s");
  CHECK(Row(report, "gpu2", "network", "reach gpu1").detail == "clusterd on gpu1 answers in 1 ms from 10.0.0.12");
  CHECK(Row(report, "", "network", "subnet").detail == "one subnet: 10.0.0.0/24");
  CHECK(Row(report, "", "network", "mtu").detail == "MTU 1500 on every host");
  CHECK(Row(report, "", "model", "m").detail == "the same files on every host (manifest 0123456789ab)");
  CHECK(Row(report, "", "gpu", "driver").detail == "driver 580.95.05 on every host");
  CHECK(report.network.at("gpu2").interface == "eth0");
  CHECK(report.network.at("gpu2").address == "10.0.0.12");
  CHECK(report.EnvFor("gpu2") == std::map<std::string, std::string>{{"GLOO_SOCKET_IFNAME", "eth0"},
                                                                     {"NCCL_SOCKET_IFNAME", "eth0"},
                                                                     {"VLLM_HOST_IP", "10.0.0.12"}});
  CHECK(report.EnvFor("nope").empty());
  CHECK_FALSE(HasRow(report, "gpu1", "docker", "docker"));  // runtime engine: Docker is not needed
}

// ---- agent --------------------------------------------------------------------

TEST_CASE("An agent that check had to start or replace says so in its row") {
  auto hosts = HealthyPair();
  hosts[0].agent_action = "started";
  hosts[1].agent_action = "replaced";
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  CHECK(Row(report, "gpu1", "agent", "clusterd").detail == "clusterd 0.1.0 on gpu1 (started by this check)");
  CHECK(Row(report, "gpu2", "agent", "clusterd").detail == "clusterd 0.1.0 on gpu2 (replaced by this check)");
}

TEST_CASE("An agent that does not answer fails its host and says how to start it, the others are still checked") {
  auto hosts = HealthyPair();
  hosts[1].facts.reset();
  hosts[1].unreachable_error = "connection refused";
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  CHECK(report.failed());
  const CheckRow row = Row(report, "gpu2", "agent", "clusterd");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "clusterd on gpu2 (10.0.0.12) does not answer: connection refused");
  CHECK(row.fix == "is clusterd running? run `clusterctl up` or see `clusterctl logs`");
  CHECK(Row(report, "gpu1", "gpu", "count").verdict == Verdict::kPass);
  CHECK_FALSE(HasRow(report, "gpu2", "gpu", "count"));
  CHECK(report.network.count("gpu2") == 0);
}

TEST_CASE("An agent's error names its host once: the row's host, not again in the detail") {
  auto hosts = HealthyPair();
  hosts[1].facts.reset();
  hosts[1].unreachable_error = "gpu2 (10.0.0.12): agent not reachable: connection refused";
  const CheckRow row = Row(EvaluateCheck(Load(TwoHosts()), hosts), "gpu2", "agent", "clusterd");
  CHECK(row.detail == "clusterd on gpu2 (10.0.0.12) does not answer: agent not reachable: connection refused");
}

TEST_CASE("A host clusterctl cannot log in to over SSH fails with SSH's fix, not the agent's") {
  // What check sees when it cannot start the agent because SSH fails: key,
  // known_hosts, port and firewall are the things to check, and `clusterctl
  // up` (which needs the same SSH) is no fix.
  auto hosts = HealthyPair();
  hosts[1].facts.reset();
  hosts[1].ssh_failed = true;
  hosts[1].unreachable_error =
      "gpu2 (10.0.0.12): cannot connect to 10.0.0.12:22: Connection refused; check that sshd runs on the host and "
      "listens on port 22 (ssh.port), and that no firewall between this machine and the host blocks it";
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  CHECK(report.failed());
  const CheckRow row = Row(report, "gpu2", "ssh", "connection");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail ==
        "cannot connect to 10.0.0.12:22: Connection refused; check that sshd runs on the host and listens on port 22 "
        "(ssh.port), and that no firewall between this machine and the host blocks it");
  CHECK(row.fix ==
        "check SSH from this machine to 10.0.0.12 port 22: the key (ssh.identity_file, its public key in "
        "~/.ssh/authorized_keys of ssh.user there), known_hosts (--accept-new-host-keys records a new host's key), "
        "the port (ssh.port) and any firewall in between");
  CHECK_FALSE(HasRow(report, "gpu2", "agent", "clusterd"));
}

// ---- gpu ----------------------------------------------------------------------

TEST_CASE("A host without GPUs passes when the runtime is the CPU engine") {
  auto hosts = HealthyPair();
  for (auto& h : hosts) {
    h.facts->gpus.clear();
    h.facts->gpu_error = "nvidia-smi not found: no NVIDIA driver on this host";
  }
  const CheckReport report = EvaluateCheck(
      Load("cluster: {name: lab}\n"
           "hosts:\n"
           "  - {name: gpu1, address: 10.0.0.11}\n"
           "  - {name: gpu2, address: 10.0.0.12}\n"
           "artifacts: {models: [{name: m, source: /m, path: /data/m}]}\n"
           "runtime: {model: m, pipeline_parallel: 2, dtype: float32, engine: {device: cpu}}\n"),
      hosts);
  const CheckRow row = Row(report, "gpu2", "gpu", "count");
  CHECK(row.verdict == Verdict::kPass);
  CHECK(row.detail == "no GPUs (the CPU engine needs none)");
  CHECK_FALSE(HasRow(report, "", "gpu", "driver"));
}

TEST_CASE("A host without GPUs fails a GPU runtime with the reason nvidia-smi gave") {
  auto hosts = HealthyPair();
  hosts[1].facts->gpus.clear();
  hosts[1].facts->gpu_error = "nvidia-smi not found: no NVIDIA driver on this host";
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "gpu2", "gpu", "count");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "no GPUs found: nvidia-smi not found: no NVIDIA driver on this host");
  CHECK(row.fix == "install the NVIDIA driver on gpu2 so nvidia-smi lists its GPUs, or set runtime.engine.device: cpu");
  CHECK_FALSE(HasRow(report, "gpu2", "gpu", "memory"));
}

TEST_CASE("Fewer GPUs than the inventory's gpus fails and names the key to change") {
  auto hosts = HealthyPair();
  hosts[0].facts->gpus.resize(2);
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "gpu1", "gpu", "count");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "found 2 GPUs (2 x Tesla T4), the inventory says gpus: 4");
  CHECK(row.fix == "set hosts[0].gpus to 2 (or auto) for gpu1, or make its other GPUs visible to nvidia-smi");
}

TEST_CASE("Fewer GPUs than the ranks placed on a host with gpus auto fails and suggests a smaller tensor_parallel") {
  auto hosts = HealthyPair();
  hosts[1].facts->gpus.resize(2);
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "gpu2", "gpu", "count");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "found 2 GPUs (2 x Tesla T4), the runtime runs 4 ranks here (tensor_parallel 4)");
  CHECK(row.fix == "lower runtime.tensor_parallel to 2, or give gpu2 4 GPUs");
}

TEST_CASE("A GPU model other than the inventory's gpu_model warns") {
  auto hosts = HealthyPair();
  hosts[0].facts->gpus[1].name = "Tesla V100-PCIE-16GB";
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "gpu1", "gpu", "model");
  CHECK(row.verdict == Verdict::kWarn);
  CHECK(row.detail == "GPU 1 is a Tesla V100-PCIE-16GB, the inventory says gpu_model: T4");
  CHECK(row.fix == "set hosts[0].gpu_model to the GPU gpu1 has: plan sized memory for a T4");
  CHECK(Row(report, "gpu2", "gpu", "count").verdict == Verdict::kPass);  // gpu2 has no gpu_model to compare
  CHECK_FALSE(HasRow(report, "gpu2", "gpu", "model"));
}

TEST_CASE("bfloat16 on a GPU below compute capability 8.0 fails and says to use float16") {
  // With gpu_model: T4 in the inventory, validate refuses it already; here
  // only the host's answer tells.
  std::string yaml = TwoHosts("", "dtype: bfloat16");
  yaml.erase(yaml.find(", gpu_model: T4"), std::string(", gpu_model: T4").size());
  const CheckReport report = EvaluateCheck(Load(yaml), HealthyPair());
  const CheckRow row = Row(report, "gpu1", "gpu", "dtype");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "runtime.dtype bfloat16 needs compute capability 8.0; GPU 0 (Tesla T4) has 7.5");
  CHECK(row.fix == "use float16: set runtime.dtype: float16 (compute capability 7.5 has no bfloat16)");
}

TEST_CASE("float16 on compute capability 7.5 passes and shows the capability") {
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), HealthyPair());
  const CheckRow row = Row(report, "gpu1", "gpu", "compute capability");
  CHECK(row.verdict == Verdict::kPass);
  CHECK(row.detail == "7.5 (float16)");
}

TEST_CASE("For the engine on GPUs, a driver older than the engine's CUDA runtime needs fails with the version needed") {
  const std::string cuda = EngineCudaRuntime();
  if (cuda.empty()) cluster::testing::SkipTest("this build's engine has no CUDA backend, so no driver is needed");
  auto hosts = HealthyPair();
  for (auto& g : hosts[1].facts->gpus) g.driver_version = "535.104.05";
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  CHECK(report.failed());
  const CheckRow row = Row(report, "gpu2", "gpu", "driver");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "NVIDIA driver 535.104.05 is too old for the engine's CUDA " + cuda +
                          " runtime, which needs driver 580 or newer");
  CHECK(row.fix == "install NVIDIA driver 580 or newer on gpu2 (the engine brings its CUDA runtime; only the driver "
                   "comes from the host)");
  CHECK(Row(report, "gpu1", "gpu", "driver").verdict == Verdict::kPass);
  // vLLM brings its own CUDA in its image: the engine's rule does not apply.
  const CheckReport vllm = EvaluateCheck(
      Load(TwoHosts("", "kind: vllm-docker, vllm_docker: {image: vllm/vllm-openai:v0.8.5}")), hosts);
  CHECK(Row(vllm, "gpu2", "gpu", "driver").verdict == Verdict::kPass);
  CHECK(Row(vllm, "gpu2", "gpu", "driver").detail == "535.104.05");
}

TEST_CASE("The engine's own probe on each host passes when it opens the GPU and fails with its reason otherwise") {
  auto hosts = HealthyPair();
  control::EngineDeviceFacts opened;
  opened.ok = true;
  opened.device = "cuda:0";
  opened.name = "Tesla T4";
  opened.compute_capability = "7.5";
  opened.driver_cuda = "13.0";
  opened.runtime_cuda = "13.0";
  hosts[0].facts->engine_device = opened;
  control::EngineDeviceFacts refused;
  refused.device = "cuda";
  refused.error = "no NVIDIA GPU found (no CUDA-capable device is detected); check the GPUs and driver with "
                  "nvidia-smi, or use --device cpu";
  hosts[1].facts->engine_device = refused;
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow ok = Row(report, "gpu1", "gpu", "engine");
  CHECK(ok.verdict == Verdict::kPass);
  CHECK(ok.detail == "the engine opens cuda:0 (Tesla T4, compute capability 7.5; CUDA 13.0 runtime on a driver for "
                     "CUDA 13.0)");
  const CheckRow failed = Row(report, "gpu2", "gpu", "engine");
  CHECK(failed.verdict == Verdict::kFail);
  CHECK(failed.detail == "the engine cannot open the GPU: " + refused.error);
  CHECK(failed.fix == "fix the GPU or driver on gpu2 until `infer-engine probe --device cuda` succeeds there, or set "
                      "runtime.engine.device: cpu");
}

TEST_CASE("Different driver versions across hosts warn and list each host's version") {
  auto hosts = HealthyPair();
  for (auto& g : hosts[1].facts->gpus) g.driver_version = "580.126.09";
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "", "gpu", "driver");
  CHECK(row.verdict == Verdict::kWarn);
  CHECK(row.detail == "driver versions differ: gpu1 580.95.05, gpu2 580.126.09");
  CHECK(row.fix ==
        "install one NVIDIA driver version on every host: ranks on different drivers may not agree on NCCL and "
        "CUDA features");
  CHECK_FALSE(report.failed());
}

// ---- network --------------------------------------------------------------------

TEST_CASE("A named interface missing on a host fails and lists the host's interfaces") {
  const CheckReport report = EvaluateCheck(Load(TwoHosts("network: {interface: ens9}\n")), HealthyPair());
  const CheckRow row = Row(report, "gpu1", "network", "interface");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "interface ens9 not found on gpu1; its interfaces: eth0 (10.0.0.11/24), lo (127.0.0.1/8)");
  CHECK(row.fix == "set network.interface to one of them or to auto");
  CHECK(report.network.empty());
}

TEST_CASE("A named interface that exists is chosen even when it does not carry the inventory address") {
  auto hosts = HealthyPair();
  for (auto& h : hosts) h.facts->interfaces.push_back(Interface("ib0", h.host == "gpu1" ? "192.168.0.1/24" : "192.168.0.2/24", 2044));
  const CheckReport report = EvaluateCheck(Load(TwoHosts("network: {interface: ib0}\n")), hosts);
  CHECK_FALSE(report.failed());
  CHECK(report.network.at("gpu1").interface == "ib0");
  CHECK(report.network.at("gpu1").address == "192.168.0.1");
  CHECK(report.EnvFor("gpu1").at("VLLM_HOST_IP") == "192.168.0.1");
}

TEST_CASE("With interface auto the interface that carries the host's address is chosen, never a virtual one") {
  auto hosts = HealthyPair();
  // docker0 comes first by name and is up, but eth0 carries 10.0.0.11.
  hosts[0].facts->interfaces.insert(hosts[0].facts->interfaces.begin(), Interface("docker0", "172.17.0.1/16"));
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  CHECK(report.network.at("gpu1").interface == "eth0");
}

TEST_CASE("An inventory address carried only by a virtual interface fails and explains why") {
  auto hosts = HealthyPair();
  hosts[1].facts->interfaces = {Interface("eth0", "192.168.1.5/24"), Interface("tailscale0", "10.0.0.12/32")};
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "gpu2", "network", "interface");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail ==
        "gpu2's address 10.0.0.12 is on tailscale0, a virtual interface: it carries container or VPN traffic, and "
        "NCCL between hosts needs the physical NIC");
  CHECK(row.fix == "set hosts[1].address to the address of gpu2's physical NIC, or set network.interface");
}

TEST_CASE("An inventory address that no interface carries fails and lists the interfaces") {
  auto hosts = HealthyPair();
  hosts[1].facts->interfaces = {Interface("eth0", "10.0.0.99/24")};
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "gpu2", "network", "interface");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "no interface of gpu2 carries its address 10.0.0.12; its interfaces: eth0 (10.0.0.99/24)");
  CHECK(row.fix == "set hosts[1].address to an address of gpu2, or set network.interface");
}

TEST_CASE("A host's data_address picks the interface that carries it, and the fix names that key") {
  auto hosts = HealthyPair();
  for (auto& h : hosts) h.facts->interfaces.push_back(Interface("ens2", h.host == "gpu1" ? "192.168.0.1/24" : "192.168.0.9/24"));
  std::string yaml = TwoHosts();
  yaml.replace(yaml.find("address: 10.0.0.11,"), 19, "address: 10.0.0.11, data_address: 192.168.0.1,");
  yaml.replace(yaml.find("address: 10.0.0.12}"), 19, "address: 10.0.0.12, data_address: 192.168.0.2}");
  const CheckReport report = EvaluateCheck(Load(yaml), hosts);
  CHECK(report.network.at("gpu1").interface == "ens2");
  CHECK(report.EnvFor("gpu1").at("VLLM_HOST_IP") == "192.168.0.1");
  const CheckRow row = Row(report, "gpu2", "network", "interface");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail ==
        "no interface of gpu2 carries its address 192.168.0.2; its interfaces: eth0 (10.0.0.12/24), lo (127.0.0.1/8), "
        "ens2 (192.168.0.9/24)");
  CHECK(row.fix == "set hosts[1].data_address to an address of gpu2, or set network.interface");
}

TEST_CASE("A host's own interface overrides network.interface, and the fix names the host's key") {
  auto hosts = HealthyPair();
  hosts[0].facts->interfaces.push_back(Interface("ib0", "192.168.0.1/24"));
  std::string yaml = TwoHosts("network: {interface: eth0}\n");
  yaml.replace(yaml.find("address: 10.0.0.11,"), 19, "address: 10.0.0.11, interface: ib0,");
  yaml.replace(yaml.find("address: 10.0.0.12}"), 19, "address: 10.0.0.12, interface: ib1}");
  const CheckReport report = EvaluateCheck(Load(yaml), hosts);
  CHECK(report.network.at("gpu1").interface == "ib0");
  CHECK(report.EnvFor("gpu1").at("NCCL_SOCKET_IFNAME") == "ib0");
  const CheckRow row = Row(report, "gpu2", "network", "interface");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "interface ib1 not found on gpu2; its interfaces: eth0 (10.0.0.12/24), lo (127.0.0.1/8)");
  CHECK(row.fix == "set hosts[1].interface to one of them or to auto");
}

TEST_CASE("A DNS name as address chooses the interface the probe of the head left from") {
  auto hosts = HealthyPair();
  hosts[1].facts->interfaces.push_back(Interface("eth1", "192.168.5.2/24"));
  hosts[1].probe_to_head->source_address = "10.0.0.12";
  std::string yaml = TwoHosts();
  yaml.replace(yaml.find("address: 10.0.0.12"), 18, "address: gpu2.lab");
  CheckReport report = EvaluateCheck(Load(yaml), hosts);
  CHECK(report.network.at("gpu2").interface == "eth0");

  // Without a probe, two candidate interfaces cannot be told apart.
  hosts[1].probe_to_head.reset();
  report = EvaluateCheck(Load(yaml), hosts);
  const CheckRow row = Row(report, "gpu2", "network", "interface");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail ==
        "gpu2's address gpu2.lab is a name, and 2 of its interfaces could carry the cluster's traffic: eth0 "
        "(10.0.0.12/24), lo (127.0.0.1/8), eth1 (192.168.5.2/24)");
  CHECK(row.fix == "set network.interface, or set hosts[1].address to an IP address");
}

TEST_CASE("A chosen interface that is down fails") {
  auto hosts = HealthyPair();
  hosts[1].facts->interfaces[0].up = false;
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "gpu2", "network", "interface");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "eth0 on gpu2 is down");
  CHECK(row.fix ==
        "bring it up on gpu2 (ip link set eth0 up, and check its cable), or choose another interface with "
        "network.interface");
}

TEST_CASE("With network.subnet set every host's cluster address must lie in it") {
  auto hosts = HealthyPair();
  CHECK(Row(EvaluateCheck(Load(TwoHosts("network: {subnet: 10.0.0.0/16}\n")), hosts), "", "network", "subnet")
            .detail == "every host in 10.0.0.0/16");

  // The loader checks the inventory's literal addresses; check checks the chosen interface's.
  hosts[0].facts->interfaces.push_back(Interface("eth1", "10.0.7.11/24"));
  hosts[1].facts->interfaces.push_back(Interface("eth1", "10.1.0.12/24"));
  const CheckReport report = EvaluateCheck(Load(TwoHosts("network: {interface: eth1, subnet: 10.0.0.0/16}\n")), hosts);
  const CheckRow row = Row(report, "gpu2", "network", "subnet");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "10.1.0.12 on eth1 is outside network.subnet 10.0.0.0/16");
  CHECK(row.fix == "put gpu2's cluster address inside 10.0.0.0/16, or correct network.subnet");
  CHECK_FALSE(HasRow(report, "", "network", "subnet"));
  CHECK_FALSE(HasRow(report, "gpu1", "network", "subnet"));
}

TEST_CASE("Without network.subnet hosts on different subnets warn that traffic is routed") {
  auto hosts = HealthyPair();
  std::string yaml = TwoHosts();
  yaml.replace(yaml.find("address: 10.0.0.12"), 18, "address: 10.0.1.12");
  hosts[1].facts->interfaces[0].addresses = {"10.0.1.12/24"};
  const CheckReport report = EvaluateCheck(Load(yaml), hosts);
  const CheckRow row = Row(report, "", "network", "subnet");
  CHECK(row.verdict == Verdict::kWarn);
  CHECK(row.detail == "routed, not one subnet: gpu2 (10.0.1.12) is outside gpu1's eth0 10.0.0.0/24");
  CHECK(row.fix ==
        "traffic between the hosts goes through a router, which NCCL tolerates but is slower: put the cluster "
        "interfaces on one subnet");
  CHECK_FALSE(report.failed());
}

TEST_CASE("Different MTUs on the chosen interfaces fail and the fix names each host's MTU") {
  auto hosts = HealthyPair();
  hosts[1].facts->interfaces[0].mtu = 9000;
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "", "network", "mtu");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "the cluster interfaces' MTUs differ: gpu1: 1500 on eth0, gpu2: 9000 on eth0");
  CHECK(row.fix ==
        "set one MTU on every host's cluster interface (gpu1: 1500 on eth0, gpu2: 9000 on eth0): large packets "
        "from one host are dropped by another, and NCCL stalls");
}

TEST_CASE("An unknown link speed is shown, not judged") {
  auto hosts = HealthyPair();
  hosts[0].facts->interfaces[0].speed_mbps.reset();
  const CheckRow row = Row(EvaluateCheck(Load(TwoHosts()), hosts), "gpu1", "network", "interface");
  CHECK(row.verdict == Verdict::kPass);
  CHECK(row.detail == "eth0 10.0.0.11/24, MTU 1500, speed unknown");
}

TEST_CASE("A host whose agent cannot reach the head's fails naming both hosts, the port and the error") {
  auto hosts = HealthyPair();
  hosts[1].probe_to_head = control::ProbeReply{false, 0, "", "connection timed out"};
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "gpu2", "network", "reach gpu1");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "clusterd on gpu2 cannot reach clusterd on gpu1 at 10.0.0.11:7411: connection timed out");
  CHECK(row.fix ==
        "allow TCP port 7411 from gpu2 to gpu1 (firewall, routes), and check that clusterd runs on gpu1");
}

// ---- node -----------------------------------------------------------------------

TEST_CASE("For vllm-docker a /dev/shm smaller than vllm_docker.shm_size fails") {
  auto hosts = HealthyPair();
  hosts[0].facts->shm_bytes = 8 * kGiB;
  hosts[0].facts->image_present = true;
  hosts[1].facts->image_present = true;
  const CheckReport report = EvaluateCheck(
      Load(TwoHosts("", "kind: vllm-docker, vllm_docker: {image: vllm/vllm-openai:v0.8.5, shm_size: 16g}")), hosts);
  const CheckRow row = Row(report, "gpu1", "node", "/dev/shm");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "/dev/shm is 8.0 GiB, less than runtime.vllm_docker.shm_size 16g");
  CHECK(row.fix ==
        "grow /dev/shm on gpu1 (mount -o remount,size=16g /dev/shm), or lower runtime.vllm_docker.shm_size");
  CHECK(Row(report, "gpu2", "node", "/dev/shm").verdict == Verdict::kPass);
}

TEST_CASE("For vllm-docker with ipc: host the host's /dev/shm is judged as for the engine, not against shm_size") {
  auto hosts = HealthyPair();
  hosts[0].facts->shm_bytes = 8 * kGiB;
  const CheckReport report =
      EvaluateCheck(Load(TwoHosts("", "kind: vllm-docker, vllm_docker: {image: vllm/vllm-openai:v0.8.5, ipc: host}")),
                    hosts);
  CHECK(Row(report, "gpu1", "node", "/dev/shm").verdict == Verdict::kPass);
}

TEST_CASE("For the engine a /dev/shm below 1 GiB warns") {
  auto hosts = HealthyPair();
  hosts[0].facts->shm_bytes = 64 * kMiB;
  const CheckRow row = Row(EvaluateCheck(Load(TwoHosts()), hosts), "gpu1", "node", "/dev/shm");
  CHECK(row.verdict == Verdict::kWarn);
  CHECK(row.detail == "/dev/shm is 64.0 MiB");
  CHECK(row.fix ==
        "grow /dev/shm on gpu1 to at least 1 GiB (mount -o remount,size=1g /dev/shm): NCCL and PyTorch keep "
        "shared buffers there");
}

TEST_CASE("Less than 10 GiB of free disk warns") {
  auto hosts = HealthyPair();
  hosts[1].facts->disk_free_bytes = 3 * kGiB;
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "gpu2", "node", "disk");
  CHECK(row.verdict == Verdict::kWarn);
  CHECK(row.detail == "3.0 GiB free at /data");
  CHECK(row.fix == "free space on gpu2 at /data: logs and model updates need room");
  CHECK(Row(report, "gpu1", "node", "disk").detail == "500.0 GiB free at /data");
}

TEST_CASE("A port this cluster's own running deployment holds passes and names the unit") {
  auto hosts = HealthyPair();
  hosts[0].facts->ports.clear();  // not probed: ours
  hosts[0].ports_held_by_deployment = {{8000, "rank 0"}};
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "gpu1", "node", "port 8000");
  CHECK(row.verdict == Verdict::kPass);
  CHECK(row.detail == "in use by this cluster's running rank 0");
  CHECK_FALSE(report.failed());
}

TEST_CASE("A port in use fails naming the port, and runtime.port may be changed instead") {
  auto hosts = HealthyPair();
  hosts[0].facts->ports = {control::PortFacts{8000, false, "address already in use"},
                           control::PortFacts{29500, false, "address already in use"},
                           control::PortFacts{6379, true, ""}};
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  CheckRow row = Row(report, "gpu1", "node", "port 8000");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "port 8000 is not free: address already in use");
  CHECK(row.fix == "address already in use: stop what listens on 8000 or change runtime.port");
  row = Row(report, "gpu1", "node", "port 29500");
  CHECK(row.fix == "address already in use: stop what listens on 29500");
  CHECK(Row(report, "gpu1", "node", "ports").detail == "6379 free");
}

TEST_CASE("Clock skew over 2 s fails, over 500 ms warns, and the fix is to sync clocks") {
  auto hosts = HealthyPair();
  hosts[0].clock_offset_ms = 2500;
  hosts[1].clock_offset_ms = -800;
  CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  CheckRow row = Row(report, "gpu1", "node", "clock");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "2500 ms ahead of this machine");
  CHECK(row.fix == "sync clocks with chrony/ntp");
  row = Row(report, "gpu2", "node", "clock");
  CHECK(row.verdict == Verdict::kWarn);
  CHECK(row.detail == "800 ms behind this machine");
  CHECK(row.fix == "sync clocks with chrony/ntp");

  hosts[0].clock_offset_ms = 500;
  CHECK(Row(EvaluateCheck(Load(TwoHosts()), hosts), "gpu1", "node", "clock").verdict == Verdict::kPass);
}

// ---- model --------------------------------------------------------------------

TEST_CASE("A model missing on a host fails and says to push it") {
  auto hosts = HealthyPair();
  hosts[1].facts->model_present = false;
  hosts[1].facts->model_manifest_hash.clear();
  hosts[1].facts->model_error = "/data/m: no such folder";
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), hosts);
  const CheckRow row = Row(report, "gpu2", "model", "m");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "model m is not on gpu2 at /data/m");
  CHECK(row.fix == "run `clusterctl push -f /lab/cluster.yaml`");
  CHECK_FALSE(HasRow(report, "", "model", "m"));  // the missing copy is not also a different one
}

TEST_CASE("Model files that differ from the head's fail naming the hosts that differ") {
  std::string yaml = TwoHosts();
  yaml.replace(yaml.find("  - {name: gpu2, address: 10.0.0.12}\n"), 0,
               "  - {name: gpu0, address: 10.0.0.10}\n");
  auto hosts = HealthyPair();
  hosts.insert(hosts.begin(), Healthy("gpu0", "10.0.0.10/24"));
  hosts.push_back(Healthy("gpu3", "10.0.0.13/24"));  // not in the inventory: ignored
  hosts[0].facts->model_manifest_hash = "ffffffffffffffffffffffffffffffff";
  hosts[2].facts->model_manifest_hash = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
  const CheckReport report = EvaluateCheck(Load(yaml), hosts);
  const CheckRow row = Row(report, "", "model", "m");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "the model files on gpu0 and gpu2 differ from those on gpu1 (the head)");
  CHECK(row.fix == "run `clusterctl push -f /lab/cluster.yaml`: it copies the model again to every host whose files differ");
  CHECK_FALSE(HasRow(report, "gpu3", "agent", "clusterd"));
}

// ---- docker -------------------------------------------------------------------

TEST_CASE("For vllm-docker a host without Docker fails, and an image not loaded fails with push as the fix") {
  auto hosts = HealthyPair();
  hosts[0].facts->docker_present = false;
  hosts[0].facts->docker_version.clear();
  hosts[0].facts->docker_error = "docker not found: Docker is not installed on this host";
  hosts[0].facts->image_present = false;
  hosts[1].facts->image_present = false;
  const CheckReport report = EvaluateCheck(
      Load(TwoHosts("", "kind: vllm-docker, vllm_docker: {image: vllm/vllm-openai:v0.8.5}")), hosts);
  CheckRow row = Row(report, "gpu1", "docker", "docker");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "docker not found: Docker is not installed on this host");
  CHECK(row.fix ==
        "install Docker and the NVIDIA container toolkit on gpu1: runtime vllm-docker runs "
        "vllm/vllm-openai:v0.8.5 in a container");
  CHECK_FALSE(HasRow(report, "gpu1", "docker", "image"));  // no Docker, no image to look for
  row = Row(report, "gpu2", "docker", "image");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail == "image vllm/vllm-openai:v0.8.5 is not loaded");
  CHECK(row.fix == "run `clusterctl push -f /lab/cluster.yaml`");
  CHECK(Row(report, "gpu2", "docker", "docker").detail == "Docker 27.3.1");
}

TEST_CASE("For vllm-docker a Docker daemon that does not answer fails") {
  auto hosts = HealthyPair();
  hosts[1].facts->docker_error = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.";
  const CheckReport report = EvaluateCheck(
      Load(TwoHosts("", "kind: vllm-docker, vllm_docker: {image: vllm/vllm-openai:v0.8.5}")), hosts);
  const CheckRow row = Row(report, "gpu2", "docker", "docker");
  CHECK(row.verdict == Verdict::kFail);
  CHECK(row.detail ==
        "the Docker daemon does not answer: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.");
  CHECK(row.fix == "start it on gpu2 (systemctl start docker), or give clusterd the right DOCKER_HOST");
}

TEST_CASE("With restart always, check warns about a host whose agent does not start at boot") {
  auto hosts = HealthyPair();
  hosts[0].facts->agent_boot_unit = "clusterd-lab.service";
  const CheckReport report = EvaluateCheck(Load(TwoHosts("", "restart: always")), hosts);
  CHECK(Row(report, "gpu1", "agent", "start at boot").detail ==
        "clusterd-lab.service is enabled: after a reboot the agent brings the deployment back");
  const CheckRow row = Row(report, "gpu2", "agent", "start at boot");
  CHECK(row.verdict == Verdict::kWarn);
  CHECK(row.detail == "the agent does not start at boot: after a reboot of gpu2 the deployment stays down until "
                      "`clusterctl up` (runtime.restart always)");
  CHECK(row.fix == "run the agent as root on a host that systemd manages (ssh.user root; `up` then enables "
                   "clusterd-lab.service), or enable clusterd@lab (docs/install.md)");
  CHECK_FALSE(HasRow(EvaluateCheck(Load(TwoHosts("", "restart: on-failure")), hosts), "gpu2", "agent",
                     "start at boot"));
}

TEST_CASE("check judges what any runtime says it needs: its image, /dev/shm, GPUs") {
  // A third runtime, known to check only through cli::Runtime.
  FakeRuntime runtime;
  runtime.needs.image = "lmsysorg/sglang:v0.4";
  runtime.needs.shm = HostNeeds::Shm{64 * kGiB, "runtime.sglang.shm_size", "64g"};
  runtime.needs.without_gpus = "pick another runtime";
  auto hosts = HealthyPair();
  hosts[0].facts->image_present = false;
  hosts[1].facts->image_present = true;
  hosts[1].facts->gpus.clear();
  const CheckReport report = EvaluateCheck(Load(TwoHosts()), runtime, hosts);
  CheckRow row = Row(report, "gpu1", "docker", "image");
  CHECK(row.detail == "image lmsysorg/sglang:v0.4 is not loaded");
  CHECK(row.fix == "run `clusterctl push -f /lab/cluster.yaml`");
  CHECK(Row(report, "gpu2", "docker", "image").verdict == Verdict::kPass);
  row = Row(report, "gpu1", "node", "/dev/shm");
  CHECK(row.detail == "/dev/shm is 32.0 GiB, less than runtime.sglang.shm_size 64g");
  CHECK(row.fix == "grow /dev/shm on gpu1 (mount -o remount,size=64g /dev/shm), or lower runtime.sglang.shm_size");
  CHECK(Row(report, "gpu1", "gpu", "driver").detail == "580.95.05");  // no CUDA runtime of ours to judge it by
  CHECK(Row(report, "gpu2", "gpu", "count").fix ==
        "install the NVIDIA driver on gpu2 so nvidia-smi lists its GPUs, or pick another runtime");
}

TEST_CASE("check asks the head for the ports the runtime needs, and no other host") {
  FakeRuntime runtime;
  runtime.needs.head_ports = {30000, 30001};
  const inventory::Inventory inventory = Load(TwoHosts());
  CHECK(RequiredPorts(inventory, runtime.needs, inventory.hosts[0]) == std::vector<int>{30000, 30001});
  CHECK(RequiredPorts(inventory, runtime.needs, inventory.hosts[1]).empty());
  const HostNeeds engine = RuntimeFor(Load(TwoHosts()))->Needs();
  CHECK(engine.head_ports == std::vector<int>{8000, 8001});  // the API, the rendezvous of 8 ranks
  const HostNeeds vllm =
      RuntimeFor(Load(TwoHosts("", "kind: vllm-docker, vllm_docker: {image: vllm/vllm-openai:v0.8.5}")))->Needs();
  CHECK(vllm.head_ports == std::vector<int>{8000, 6379});  // the API, Ray's GCS
}

// ---- output -------------------------------------------------------------------

TEST_CASE("The JSON report has ok, rows with stable fields, and each host's network with its env") {
  auto hosts = HealthyPair();
  hosts[1].clock_offset_ms = 2500;
  const nlohmann::ordered_json doc = CheckReportJson(EvaluateCheck(Load(TwoHosts()), hosts));
  CHECK(doc["ok"] == false);
  const auto& first = doc["rows"][0];
  CHECK(first.dump() ==
        R"({"host":"gpu1","area":"agent","item":"clusterd","verdict":"pass","detail":"clusterd 0.1.0 on gpu1","fix":""})");
  bool clock_failed = false;
  for (const auto& r : doc["rows"])
    if (r["host"] == "gpu2" && r["item"] == "clock") clock_failed = r["verdict"] == "fail";
  CHECK(clock_failed);
  CHECK(doc["network"]["gpu2"].dump() ==
        R"({"interface":"eth0","address":"10.0.0.12","env":{"GLOO_SOCKET_IFNAME":"eth0","NCCL_SOCKET_IFNAME":"eth0","VLLM_HOST_IP":"10.0.0.12"}})");
}

TEST_CASE("The table groups rows by host, cluster-wide rows last, with each fix under its row") {
  CheckReport report;
  report.rows = {
      {"gpu1", "agent", "clusterd", Verdict::kPass, "clusterd 0.1.0 on gpu1", ""},
      {"", "network", "mtu", Verdict::kFail, "MTUs differ", "set one MTU"},
      {"gpu2", "node", "clock", Verdict::kWarn, "800 ms behind this machine", "sync clocks with chrony/ntp"},
      {"gpu1", "gpu", "count", Verdict::kPass, "4 x Tesla T4", ""},
  };
  report.network["gpu1"] = HostNetwork{"eth0", "10.0.0.11"};
  report.network["gpu2"] = HostNetwork{"ens5", "10.0.0.12"};
  std::ostringstream out;
  PrintCheckTable(report, out);
  CHECK(out.str() ==
        "HOST     RESULT  AREA     CHECK     DETAIL\n"
        "gpu1     PASS    agent    clusterd  clusterd 0.1.0 on gpu1\n"
        "         PASS    gpu      count     4 x Tesla T4\n"
        "gpu2     WARN    node     clock     800 ms behind this machine\n"
        "                                    fix: sync clocks with chrony/ntp\n"
        "cluster  FAIL    network  mtu       MTUs differ\n"
        "                                    fix: set one MTU\n"
        "\n"
        "1 failed, 1 warning, 2 passed\n"
        "cluster network (the environment `up` sets):\n"
        "  gpu1: GLOO_SOCKET_IFNAME=eth0 NCCL_SOCKET_IFNAME=eth0 VLLM_HOST_IP=10.0.0.11\n"
        "  gpu2: GLOO_SOCKET_IFNAME=ens5 NCCL_SOCKET_IFNAME=ens5 VLLM_HOST_IP=10.0.0.12\n");
}
