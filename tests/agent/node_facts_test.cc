// The agent's fact collector (agent/node_facts.h, gpu_facts.h,
// interface_facts.h): nvidia-smi's CSV, sysfs interfaces, and a whole
// collection against a fixture host: a sysfs folder, stand-in nvidia-smi and
// docker scripts, a model folder, a port held by a listener.
#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "agent/gpu_facts.h"
#include "agent/interface_facts.h"
#include "agent/node_facts.h"

namespace fs = std::filesystem;
using cluster::testing::TempDir;
using namespace cluster;
using namespace cluster::agent;

namespace {

const char* const kFourT4 =
    "0, Tesla T4, 15360, 3, 15098, 7.5, 535.104.05, 0\n"
    "1, Tesla T4, 15360, 3, 15098, 7.5, 535.104.05, 0\n"
    "2, Tesla T4, 15360, 1025, 14076, 7.5, 535.104.05, 37\n"
    "3, Tesla T4, 15360, 3, 15098, 7.5, 535.104.05, 0\n";

constexpr std::uint64_t kMiB = 1024 * 1024;

// A temporary folder, removed with its content at the end of the test.

void WriteFile(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

// An executable /bin/sh script.
fs::path WriteScript(const fs::path& file, const std::string& body) {
  WriteFile(file, "#!/bin/sh\n" + body);
  fs::permissions(file, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  return file;
}

// /sys/class/net/NAME/{operstate,flags,mtu[,speed]}; an empty speed leaves the file out.
void WriteSysfsInterface(const fs::path& root, const std::string& name, const std::string& operstate,
                         const std::string& flags, int mtu, const std::string& speed) {
  WriteFile(root / name / "operstate", operstate + "\n");
  WriteFile(root / name / "flags", flags + "\n");
  WriteFile(root / name / "mtu", std::to_string(mtu) + "\n");
  if (!speed.empty()) WriteFile(root / name / "speed", speed + "\n");
}

// A host with lo, a 25 Gb/s eth0, a down eth1 whose driver reports speed -1,
// docker0 and the bonding_masters file that /sys/class/net also holds.
fs::path WriteFixtureSysfs(const fs::path& dir) {
  const fs::path root = dir / "sys/class/net";
  WriteSysfsInterface(root, "lo", "unknown", "0x9", 65536, "");
  WriteSysfsInterface(root, "eth0", "up", "0x1003", 1500, "25000");
  WriteSysfsInterface(root, "eth1", "down", "0x1002", 9000, "-1");
  WriteSysfsInterface(root, "docker0", "down", "0x1003", 1500, "");
  WriteFile(root / "bonding_masters", "\n");
  return root;
}

const Ipv4AddressMap kAddresses = {{"lo", {"127.0.0.1/8"}}, {"eth0", {"10.0.0.11/24"}}, {"docker0", {"172.17.0.1/16"}}};

// A TCP listener on 127.0.0.1 at an ephemeral port; closed at the end.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    socklen_t length = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
    port = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd); }
};

// A port that was free a moment ago: bound to port 0, then released.
int FreePort() {
  Listener l;
  return l.port;
}

}  // namespace

TEST_CASE("nvidia-smi CSV of four T4s gives four GPUs with memory in bytes") {
  auto gpus = ParseNvidiaSmiCsv(kFourT4);
  REQUIRE(gpus.ok());
  REQUIRE(gpus->size() == 4);
  const control::GpuFacts& g = (*gpus)[2];
  CHECK(g.index == 2);
  CHECK(g.name == "Tesla T4");
  CHECK(g.memory_total_bytes == 15360 * kMiB);
  CHECK(g.memory_used_bytes == 1025 * kMiB);
  CHECK(g.memory_free_bytes == 14076 * kMiB);
  CHECK(g.compute_capability == "7.5");
  CHECK(g.driver_version == "535.104.05");
  CHECK(g.utilization_percent == 37);
}

TEST_CASE("the answer of a real nvidia-smi 580 on an H200 to our query parses") {
  // Captured on the GPU machine (driver 580.159.04) with the exact query of
  // kNvidiaSmiQuery: the stand-ins of the tests imitate this format.
  auto gpus = ParseNvidiaSmiCsv("0, NVIDIA H200, 143771, 0, 143156, 9.0, 580.159.04, 0\n");
  REQUIRE(gpus.ok());
  REQUIRE(gpus->size() == 1);
  CHECK(gpus->front().name == "NVIDIA H200");
  CHECK(gpus->front().memory_total_bytes == 143771 * kMiB);
  CHECK(gpus->front().memory_free_bytes == 143156 * kMiB);
  CHECK(gpus->front().compute_capability == "9.0");
  CHECK(gpus->front().driver_version == "580.159.04");
}

TEST_CASE("nvidia-smi CSV with no lines is no GPUs, and an N/A utilization reads as 0") {
  CHECK(ParseNvidiaSmiCsv("").value().empty());
  CHECK(ParseNvidiaSmiCsv("\n\n").value().empty());
  auto gpus = ParseNvidiaSmiCsv("0, NVIDIA A100-SXM4-80GB, 81920, 0, 81920, 8.0, 550.54.15, [N/A]\n");
  REQUIRE(gpus.ok());
  CHECK(gpus->front().utilization_percent == 0);
  CHECK(gpus->front().memory_total_bytes == 81920 * kMiB);
}

TEST_CASE("nvidia-smi output that is not the CSV is an error naming the line and the fields") {
  auto gpus = ParseNvidiaSmiCsv(
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest "
      "NVIDIA driver is installed and running.\n");
  REQUIRE_FALSE(gpus.ok());
  CHECK(gpus.status().code() == StatusCode::kInvalidArgument);
  CHECK(gpus.status().message() ==
        "nvidia-smi output line 1: expected 8 comma-separated fields (index, name, memory.total, memory.used, "
        "memory.free, compute_cap, driver_version, utilization.gpu), found 1: \"NVIDIA-SMI has failed because it "
        "couldn't communicate with the NVIDIA driver. Ma...\"");
}

TEST_CASE("nvidia-smi CSV with a field that is not a number names the field") {
  auto gpus = ParseNvidiaSmiCsv(std::string(kFourT4) + "4, Tesla T4, lots, 3, 15098, 7.5, 535.104.05, 0\n");
  REQUIRE_FALSE(gpus.ok());
  CHECK(gpus.status().message() == "nvidia-smi output line 5: memory.total is \"lots\", expected MiB");
  CHECK(ParseNvidiaSmiCsv("0, Tesla T4, 15360, 3, 15098, seven, 535.104.05, 0").status().message() ==
        "nvidia-smi output line 1: compute_cap is \"seven\", expected MAJOR.MINOR");
}

TEST_CASE("ReadGpus runs nvidia-smi with the fixed query and parses what it prints") {
  TempDir dir;
  // The stand-in answers only the exact query the agent must send.
  const fs::path smi = WriteScript(
      dir.path / "nvidia-smi",
      "if [ \"$1\" = --query-gpu=index,name,memory.total,memory.used,memory.free,compute_cap,driver_version,"
      "utilization.gpu ] && [ \"$2\" = --format=csv,noheader,nounits ] && [ $# = 2 ]; then\n"
      "  printf '" + std::string(kFourT4).substr(0, std::string(kFourT4).find('\n')) + "\\n'\n"
      "  exit 0\n"
      "fi\n"
      "echo \"unexpected arguments: $*\" >&2; exit 9\n");
  GpuReading reading = ReadGpus(smi.string());
  CHECK(reading.error == "");
  REQUIRE(reading.gpus.size() == 1);
  CHECK(reading.gpus[0].name == "Tesla T4");
}

TEST_CASE("Without nvidia-smi there are no GPUs and the error says there is no NVIDIA driver") {
  GpuReading reading = ReadGpus("/nonexistent/nvidia-smi");
  CHECK(reading.gpus.empty());
  CHECK(reading.error == "nvidia-smi not found: no NVIDIA driver on this host");
}

TEST_CASE("A failing nvidia-smi gives its own message as the GPU error") {
  TempDir dir;
  const fs::path smi = WriteScript(dir.path / "nvidia-smi",
                                   "echo 'Failed to initialize NVML: Driver/library version mismatch' >&2\nexit 18\n");
  GpuReading reading = ReadGpus(smi.string());
  CHECK(reading.gpus.empty());
  CHECK(reading.error == "Failed to initialize NVML: Driver/library version mismatch");
}

TEST_CASE("Interfaces come from sysfs: lo is up by its flags, speed -1 or absent is unknown, docker0 is virtual") {
  TempDir dir;
  const auto interfaces = ReadInterfaces(WriteFixtureSysfs(dir.path), kAddresses);
  REQUIRE(interfaces.size() == 4);  // bonding_masters is a file, not an interface
  CHECK(interfaces[0].name == "docker0");
  CHECK(interfaces[0].is_virtual);
  CHECK_FALSE(interfaces[0].up);  // IFF_UP, but operstate down (no container attached)
  CHECK(interfaces[0].addresses == std::vector<std::string>{"172.17.0.1/16"});

  const control::InterfaceFacts& eth0 = interfaces[1];
  CHECK(eth0.name == "eth0");
  CHECK(eth0.up);
  CHECK_FALSE(eth0.loopback);
  CHECK_FALSE(eth0.is_virtual);
  CHECK(eth0.mtu == 1500);
  CHECK(eth0.speed_mbps == 25000);
  CHECK(eth0.addresses == std::vector<std::string>{"10.0.0.11/24"});

  const control::InterfaceFacts& eth1 = interfaces[2];
  CHECK(eth1.name == "eth1");
  CHECK_FALSE(eth1.up);
  CHECK(eth1.mtu == 9000);
  CHECK_FALSE(eth1.speed_mbps.has_value());
  CHECK(eth1.addresses.empty());

  const control::InterfaceFacts& lo = interfaces[3];
  CHECK(lo.name == "lo");
  CHECK(lo.up);  // operstate "unknown", IFF_UP set
  CHECK(lo.loopback);
  CHECK(lo.mtu == 65536);
  CHECK_FALSE(lo.speed_mbps.has_value());
}

TEST_CASE("Container, bridge and VPN interface names are virtual, NIC names are not") {
  for (const char* name : {"docker0", "virbr0", "tailscale0", "lxcbr0", "br-3f2a", "veth12ab", "cni0",
                           "flannel.1", "cali1234", "vxlan.calico", "zt5u4y", "kube-ipvs0"}) {
    INFO(name);
    CHECK(IsVirtualInterfaceName(name));
  }
  for (const char* name : {"lo", "eth0", "ens1f0", "enp65s0f1np1", "ib0", "bond0", "wlp2s0"}) {
    INFO(name);
    CHECK_FALSE(IsVirtualInterfaceName(name));
  }
}

TEST_CASE("The real host's interfaces include lo, up and loopback") {
  const auto interfaces = ReadInterfaces("/sys/class/net", ReadIpv4Addresses());
  auto lo = std::find_if(interfaces.begin(), interfaces.end(), [](const auto& i) { return i.name == "lo"; });
  REQUIRE(lo != interfaces.end());
  CHECK(lo->up);
  CHECK(lo->loopback);
  CHECK(std::find(lo->addresses.begin(), lo->addresses.end(), "127.0.0.1/8") != lo->addresses.end());
}

TEST_CASE("Two folders with the same files have the same manifest hash, and an edit changes it") {
  TempDir dir;
  for (const char* host : {"a", "b"}) {
    WriteFile(dir.path / host / "config.json", "{\"layers\": 2}");
    WriteFile(dir.path / host / "weights/model.safetensors", std::string(4096, 'w'));
  }
  const fs::path cache = dir.path / "hash-cache";
  auto a = ModelManifestHash(dir.path / "a", cache);
  auto b = ModelManifestHash(dir.path / "b", cache);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->size() == 32);
  CHECK(*a == *b);
  CHECK(fs::exists(cache));  // the next check reads no file again
  WriteFile(dir.path / "b" / "config.json", "{\"layers\": 3}");
  CHECK(ModelManifestHash(dir.path / "b", cache).value() != *a);
}

TEST_CASE("Facts of a fixture host: GPUs, interfaces, shm, disk, model, ports and docker") {
  TempDir dir;
  NodeProbes probes;
  probes.net_sysfs = WriteFixtureSysfs(dir.path);
  probes.ipv4_addresses = kAddresses;
  probes.nvidia_smi = WriteScript(dir.path / "bin/nvidia-smi", std::string("printf '") + kFourT4 + "'\n").string();
  probes.docker = WriteScript(dir.path / "bin/docker",
                              "case \"$1 $2\" in\n"
                              "  'version --format') echo 27.3.1 ;;\n"
                              "  'image inspect') [ \"$3\" = vllm/vllm-openai:v0.8.5 ] && echo '[{}]' || exit 1 ;;\n"
                              "  *) exit 2 ;;\n"
                              "esac\n")
                      .string();
  probes.shm = dir.path;
  probes.hash_cache = dir.path / "cache/hash-cache";
  WriteFile(dir.path / "models/m/config.json", "{}");
  Listener busy;
  const int free_port = FreePort();

  control::FactsRequest request;
  request.model_path = (dir.path / "models/m").string();
  request.ports = {busy.port, free_port};
  request.bind_address = "127.0.0.1";
  request.image = "vllm/vllm-openai:v0.8.5";
  auto facts = CollectNodeFacts(request, probes);
  REQUIRE(facts.ok());

  CHECK_FALSE(facts->hostname.empty());
  CHECK(facts->agent_version == "0.1.0");
  CHECK(facts->unix_time_ms > 1'600'000'000'000);
  CHECK(facts->gpus.size() == 4);
  CHECK(facts->gpu_error == "");
  CHECK(facts->interfaces.size() == 4);
  CHECK(facts->shm_bytes > 0);
  CHECK(facts->disk_path == (dir.path / "models").string());
  CHECK(facts->disk_free_bytes > 0);
  CHECK(facts->model_present);
  CHECK(facts->model_error == "");
  CHECK(facts->model_manifest_hash == ModelManifestHash(dir.path / "models/m", probes.hash_cache).value());
  REQUIRE(facts->ports.size() == 2);
  CHECK(facts->ports[0].port == busy.port);
  CHECK_FALSE(facts->ports[0].free);
  CHECK(facts->ports[0].error == "address already in use");
  CHECK(facts->ports[1].free);
  CHECK(facts->ports[1].error == "");
  CHECK(facts->docker_present);
  CHECK(facts->docker_version == "27.3.1");
  CHECK(facts->docker_error == "");
  CHECK(facts->image_present == true);

  request.image = "vllm/vllm-openai:latest";
  CHECK(CollectNodeFacts(request, probes)->image_present == false);
}

TEST_CASE("A model not pushed yet is absent, and free disk is measured at its nearest existing ancestor") {
  TempDir dir;
  NodeProbes probes;
  probes.net_sysfs = dir.path / "no-sysfs";
  probes.ipv4_addresses = Ipv4AddressMap{};
  probes.nvidia_smi = (dir.path / "no-nvidia-smi").string();
  probes.docker = (dir.path / "no-docker").string();
  probes.hash_cache = dir.path / "hash-cache";
  control::FactsRequest request;
  request.model_path = (dir.path / "data/models/m").string();
  auto facts = CollectNodeFacts(request, probes);
  REQUIRE(facts.ok());
  CHECK_FALSE(facts->model_present);
  CHECK(facts->model_manifest_hash == "");
  CHECK(facts->model_error == (dir.path / "data/models/m").string() + ": no such folder");
  CHECK(facts->disk_path == dir.path.string());
  CHECK(facts->interfaces.empty());
  CHECK(facts->gpus.empty());
  CHECK(facts->gpu_error == "nvidia-smi not found: no NVIDIA driver on this host");
  CHECK_FALSE(facts->docker_present);
  CHECK(facts->docker_error == "docker not found: Docker is not installed on this host");
  CHECK_FALSE(facts->image_present.has_value());  // no image asked for
}

TEST_CASE("A Docker CLI whose daemon does not answer is present with the daemon's error") {
  TempDir dir;
  NodeProbes probes;
  probes.net_sysfs = dir.path / "no-sysfs";
  probes.ipv4_addresses = Ipv4AddressMap{};
  probes.nvidia_smi = (dir.path / "no-nvidia-smi").string();
  probes.docker = WriteScript(dir.path / "docker",
                              "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the "
                              "docker daemon running?' >&2\nexit 1\n")
                      .string();
  control::FactsRequest request;
  request.image = "busybox:1";
  auto facts = CollectNodeFacts(request, probes);
  REQUIRE(facts.ok());
  CHECK(facts->docker_present);
  CHECK(facts->docker_version == "");
  CHECK(facts->docker_error ==
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?");
  CHECK(facts->image_present == false);
}

TEST_CASE("A relative model path is refused") {
  control::FactsRequest request;
  request.model_path = "models/m";
  auto facts = CollectNodeFacts(request, NodeProbes{});
  REQUIRE_FALSE(facts.ok());
  CHECK(facts.status().code() == StatusCode::kInvalidArgument);
  CHECK(facts.status().message() == "facts: \"models/m\" is not an absolute path");
}

TEST_CASE("A port whose last listener closed its connections first (TIME_WAIT) is free, as a server would find it") {
  int port = 0;
  {
    // A server like the engine's rendezvous: SO_REUSEADDR, and it closes its connections first.
    Listener server;
    port = server.port;
    ::close(server.fd);
    server.fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    ::setsockopt(server.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in bound{};
    bound.sin_family = AF_INET;
    bound.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bound.sin_port = htons(static_cast<std::uint16_t>(port));
    REQUIRE(::bind(server.fd, reinterpret_cast<sockaddr*>(&bound), sizeof bound) == 0);
    REQUIRE(::listen(server.fd, 1) == 0);
    const int client = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    const int accepted = ::accept(server.fd, nullptr, nullptr);
    REQUIRE(accepted >= 0);
    ::close(accepted);  // the server's side closes first: its end of the connection waits in TIME_WAIT on `port`
    char byte;
    CHECK(::read(client, &byte, 1) == 0);
    ::close(client);
  }
  control::FactsRequest request;
  request.ports = {port};
  request.bind_address = "127.0.0.1";
  auto facts = CollectNodeFacts(request, NodeProbes{});
  REQUIRE(facts.ok());
  REQUIRE(facts->ports.size() == 1);
  CHECK(facts->ports[0].free);
  CHECK(facts->ports[0].error == "");
}
