#include "agent/node_facts.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/gpu_facts.h"
#include "common/build_info.h"
#include "common/content_hash.h"
#include "common/manifest.h"
#include "common/subprocess.h"

namespace cluster::agent {
namespace {

namespace fs = std::filesystem;

std::string FirstLine(const std::string& text) {
  std::size_t start = text.find_first_not_of(" \n");
  if (start == std::string::npos) return "";
  std::string line = text.substr(start, text.find('\n', start) - start);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// strerror text as it reads inside a sentence: "address already in use".
std::string ErrnoText(int error) {
  std::string text = std::strerror(error);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

// The folder whose free space matters: disk_path, else the model folder's
// parent (where the model is, or will be, written), else "/". Walks up to
// the nearest folder that exists: before the first push /data/models may not.
fs::path DiskFolder(const control::FactsRequest& request) {
  fs::path path = "/";
  if (!request.disk_path.empty()) {
    path = fs::path(request.disk_path).lexically_normal();
  } else if (!request.model_path.empty()) {
    fs::path model = fs::path(request.model_path).lexically_normal();
    if (model.filename().empty()) model = model.parent_path();  // "/data/m/" -> "/data/m"
    path = model.parent_path();
  }
  std::error_code ec;
  while (!fs::is_directory(path, ec) && path != path.root_path()) path = path.parent_path();
  return path;
}

// Total size of the file system at `path` (f_blocks), or the space an
// unprivileged writer may still use (f_bavail). 0 when statvfs fails.
std::uint64_t FileSystemBytes(const fs::path& path, bool free_only) {
  struct statvfs s {};
  if (::statvfs(path.c_str(), &s) != 0) return 0;
  return static_cast<std::uint64_t>(free_only ? s.f_bavail : s.f_blocks) * s.f_frsize;
}

}  // namespace

control::PortFacts ProbePort(const std::string& bind_address, int port) {
  control::PortFacts facts;
  facts.port = port;
  sockaddr_storage storage{};
  socklen_t length = 0;
  const std::string address = bind_address.empty() ? "0.0.0.0" : bind_address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    length = sizeof *v4;
  } else if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    length = sizeof *v6;
  } else {
    facts.error = fmt::format("\"{}\" is not an IP address to bind", address);
    return facts;
  }
  if (port < 1 || port > 65535) {
    facts.error = fmt::format("{} is not a TCP port", port);
    return facts;
  }
  const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    facts.error = ErrnoText(errno);
    return facts;
  }
  const int on = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&storage), length) == 0) {
    facts.free = true;
  } else {
    facts.error = ErrnoText(errno);
  }
  ::close(fd);
  return facts;
}

namespace {

void CollectModel(const control::FactsRequest& request, const NodeProbes& probes, control::NodeFacts& facts) {
  if (request.model_path.empty()) return;
  std::error_code ec;
  const fs::path model = request.model_path;
  if (!fs::exists(model, ec)) {
    facts.model_error = fmt::format("{}: no such folder", request.model_path);
    return;
  }
  if (!fs::is_directory(model, ec)) {
    facts.model_error = fmt::format("{}: not a folder", request.model_path);
    return;
  }
  facts.model_present = true;
  if (!request.hash_model) return;
  auto hash = ModelManifestHash(model, probes.hash_cache.empty() ? DefaultHashCacheFile() : probes.hash_cache);
  if (hash.ok()) {
    facts.model_manifest_hash = *hash;
  } else {
    facts.model_error = hash.status().message();
  }
}

void CollectDocker(const control::FactsRequest& request, const NodeProbes& probes, control::NodeFacts& facts) {
  constexpr int kDockerTimeoutMs = 20000;  // a daemon that hangs must not hang `check`
  auto version = RunProcessWithin({probes.docker, "version", "--format", "{{.Server.Version}}"}, kDockerTimeoutMs);
  if (!version.ok() && version.status().code() == StatusCode::kDeadlineExceeded) {
    facts.docker_present = true;
    facts.docker_error = fmt::format("docker did not answer within {} s: is dockerd hung?", kDockerTimeoutMs / 1000);
  } else if (!version.ok()) {
    facts.docker_error = "docker not found: Docker is not installed on this host";
  } else {
    facts.docker_present = true;
    if (version->exit_code == 0) {
      facts.docker_version = FirstLine(version->out);
    } else {
      // The CLI is there but its daemon does not answer ("Cannot connect to the Docker daemon...").
      std::string why = FirstLine(version->err.empty() ? version->out : version->err);
      facts.docker_error = why.empty() ? fmt::format("docker version exited with code {}", version->exit_code) : why;
    }
  }
  if (request.image.empty()) return;
  if (!facts.docker_present) {
    facts.image_present = false;
    return;
  }
  auto inspect = RunProcessWithin({probes.docker, "image", "inspect", request.image}, kDockerTimeoutMs);
  facts.image_present = inspect.ok() && inspect->exit_code == 0;
}

// "cuda" or "cuda:N" with N of at most 3 digits.
bool IsCudaDevice(const std::string& device) {
  if (device == "cuda") return true;
  const std::string index = device.rfind("cuda:", 0) == 0 ? device.substr(5) : "";
  return !index.empty() && index.size() <= 3 && index.find_first_not_of("0123456789") == std::string::npos;
}

// `infer-engine probe --device D --json` beside the agent: can the engine
// open the GPU (a driver new enough for its CUDA runtime, a GPU it supports)?
void CollectEngineDevice(const control::FactsRequest& request, const NodeProbes& probes, control::NodeFacts& facts) {
  if (request.engine_device.empty()) return;
  control::EngineDeviceFacts& e = facts.engine_device.emplace();
  e.device = request.engine_device;
  if (!probes.engine.ok()) {
    e.error = probes.engine.status().message();
    return;
  }
  constexpr int kProbeTimeoutMs = 30000;  // CUDA initialisation on a hung driver must not hang `check`
  auto run = RunProcessWithin({probes.engine->string(), "probe", "--device", request.engine_device, "--json"},
                              kProbeTimeoutMs);
  if (!run.ok()) {
    e.error = run.status().code() == StatusCode::kDeadlineExceeded
                  ? fmt::format("infer-engine probe did not answer within {} s: the driver or a GPU may be hung (look "
                                "for Xid errors in dmesg)",
                                kProbeTimeoutMs / 1000)
                  : fmt::format("infer-engine probe could not run: {}", run.status().message());
    return;
  }
  try {
    const nlohmann::json j = nlohmann::json::parse(FirstLine(run->out));
    e.ok = j.at("ok").get<bool>();
    if (e.ok) {
      e.device = j.at("device").get<std::string>();
      e.name = j.at("name").get<std::string>();
      e.compute_capability = j.at("compute_capability").get<std::string>();
      e.driver_cuda = j.at("driver_cuda").get<std::string>();
      e.runtime_cuda = j.at("runtime_cuda").get<std::string>();
    } else {
      e.error = j.at("error").get<std::string>();
    }
  } catch (const nlohmann::json::exception&) {
    e.ok = false;
    const std::string said = FirstLine(run->err.empty() ? run->out : run->err);
    e.error = fmt::format("infer-engine probe exited with code {}{}", run->exit_code,
                          said.empty() ? "" : ": " + said.substr(0, 512));
  }
}

}  // namespace

fs::path DefaultHashCacheFile() {
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr && *home != '\0' ? home : "/tmp") / ".cache/clusterd/hash-cache";
}

StatusOr<std::string> ModelManifestHash(const fs::path& folder, const fs::path& cache_file) {
  HashCache cache(cache_file);
  cache.Load();
  CLUSTER_ASSIGN_OR_RETURN(Manifest manifest, BuildManifest(folder, cache));
  (void)cache.Save();  // a cache that cannot be written only makes the next check slower
  return HashBytes(manifest.Serialize());
}

StatusOr<control::NodeFacts> CollectNodeFacts(const control::FactsRequest& request, const NodeProbes& probes) {
  if (!request.engine_device.empty() && !IsCudaDevice(request.engine_device)) {
    return InvalidArgumentError(fmt::format("facts: engine_device \"{}\" is not cuda or cuda:N",
                                            request.engine_device.substr(0, 64)));
  }
  for (const std::string* path : {&request.model_path, &request.disk_path}) {
    if (!path->empty() && !fs::path(*path).is_absolute()) {
      return InvalidArgumentError(fmt::format("facts: \"{}\" is not an absolute path", *path));
    }
  }
  control::NodeFacts facts;
  char hostname[256] = {};
  if (::gethostname(hostname, sizeof hostname - 1) == 0) facts.hostname = hostname;
  facts.agent_version = GetBuildInfo().version;
  facts.unix_time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();

  GpuReading gpus = ReadGpus(probes.nvidia_smi);
  facts.gpus = std::move(gpus.gpus);
  facts.gpu_error = std::move(gpus.error);

  facts.interfaces = ReadInterfaces(probes.net_sysfs, probes.ipv4_addresses ? *probes.ipv4_addresses
                                                                            : ReadIpv4Addresses());
  facts.shm_bytes = FileSystemBytes(probes.shm, /*free_only=*/false);
  const fs::path disk = DiskFolder(request);
  facts.disk_path = disk.string();
  facts.disk_free_bytes = FileSystemBytes(disk, /*free_only=*/true);

  CollectModel(request, probes, facts);
  for (int port : request.ports) facts.ports.push_back(ProbePort(request.bind_address, port));
  CollectDocker(request, probes, facts);
  CollectEngineDevice(request, probes, facts);
  return facts;
}

}  // namespace cluster::agent
