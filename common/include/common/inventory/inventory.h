// The inventory model: what an operator declares in cluster.yaml, after
// parsing and defaulting. `clusterctl` and `clusterd` share it.
//
// Paths are already resolved (relative paths against the inventory file's
// folder, "~/" against $HOME). Every field carries no YAML types; where a
// value came from in the file is kept in `SourceLocation`s so later checks
// (semantic validation, plan) can point at the line the user must change.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cluster::inventory {

// 1-based line and column in the inventory file; line 0 means "unknown".
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

// SSH settings; the top-level `ssh` block gives defaults and each host may
// override any field. Unset fields fall back to the defaults documented in
// docs/inventory.md.
struct SshSettings {
  std::optional<std::string> user;                      // default: $USER
  std::optional<int> port;                              // default: 22
  std::optional<std::filesystem::path> identity_file;   // default: ssh-agent, then ~/.ssh/id_*
  std::optional<std::filesystem::path> known_hosts_file;// default: ~/.ssh/known_hosts
  std::optional<int> connect_timeout_s;                 // default: 10
};

struct Network {
  std::string interface = "auto";       // "auto" or an interface name such as "ens1f0"
  std::optional<std::string> subnet;    // CIDR such as "10.0.0.0/24"; hosts must lie in it
  int agent_port = 7411;                // TCP port of clusterd's control channel on every host
};

enum class Transport { kSsh, kLocal };  // kLocal: the host is this machine, no SSH

struct Host {
  std::string name;
  std::string address;                  // IP address or DNS name: SSH, the agent, the API
  // The address of the host's cluster traffic (NCCL, Gloo, Ray, the engine's
  // rendezvous) where it differs from `address`, e.g. a 100 GbE NIC's.
  std::optional<std::string> data_address;
  std::optional<std::string> interface;  // overrides network.interface for this host
  bool head = false;                    // role: head
  Transport transport = Transport::kSsh;
  std::optional<int> gpus;              // nullopt means `auto`: discovered by `check`
  std::optional<std::string> gpu_model; // e.g. "T4"; looked up in the known-GPU table
  std::optional<std::uint64_t> gpu_memory_bytes;  // overrides the table
  std::map<std::string, std::string> labels;
  SshSettings ssh;                      // already merged with the top-level defaults
  // Per-host destination of a model, by model name, where it differs from the
  // model's own `path`.
  std::map<std::string, std::filesystem::path> model_paths;
  SourceLocation location;              // the host's entry in `hosts`

  // data_address, else address.
  const std::string& ClusterAddress() const { return data_address ? *data_address : address; }
};

struct Image {
  std::string name;                     // image reference, e.g. "vllm/vllm-openai:v0.8.5"
  std::filesystem::path file;           // local tarball made by `docker save`
  SourceLocation location;
};

struct Model {
  std::string name;
  std::filesystem::path source;         // local folder in HF format
  std::filesystem::path path;           // destination folder on every host
  // A bundled model description (configs/models/NAME.json) used when the
  // source folder has no config.json of its own.
  std::optional<std::string> config;
  SourceLocation location;
};

enum class RuntimeKind { kEngine, kVllmDocker };
enum class Dtype { kAuto, kFloat16, kBfloat16, kFloat32 };
enum class EngineDevice { kCuda, kCpu };

struct EngineOptions {
  EngineDevice device = EngineDevice::kCuda;
  std::optional<int> max_context;       // tokens; default: the model's max_position_embeddings
  double gpu_memory_fraction = 0.90;    // share of each GPU the engine may use
};

// runtime.restart: whether the agents bring the deployment back after it
// stopped on its own (docs/inventory.md, "Restart policy"). Restarts are of
// the whole gang, at most max_restarts within window_s; the delay before one
// is backoff_s, doubled for every restart already in the window, at most 5
// minutes (or backoff_s when that is longer: agent/restart_budget.h).
enum class RestartPolicyKind { kNever, kOnFailure, kAlways };
struct RestartPolicy {
  RestartPolicyKind policy = RestartPolicyKind::kNever;
  int max_restarts = 5;
  int window_s = 600;
  int backoff_s = 10;
};

struct VllmDockerOptions {
  std::string image;                    // name of an entry of artifacts.images
  std::string shm_size = "16g";          // as written (docker's syntax)
  std::uint64_t shm_size_bytes = std::uint64_t{16} << 30;
  std::map<std::string, std::string> env;
  std::vector<std::string> args;        // extra `vllm serve` arguments
  // What operators add to `docker run` by hand, each in the canonical form
  // of common/docker_options.h.
  std::vector<std::string> volumes;     // "HOST:CONTAINER:ro|rw"
  std::vector<std::string> devices;     // "HOST:CONTAINER:PERMS", e.g. /dev/infiniband
  std::map<std::string, std::string> ulimits;  // name -> "SOFT:HARD", e.g. memlock -> "-1:-1"
  bool ipc_host = false;                // ipc: host (the host's /dev/shm; shm_size unused)
};

struct Runtime {
  RuntimeKind kind = RuntimeKind::kEngine;
  std::string model;                    // name of an entry of artifacts.models
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
  Dtype dtype = Dtype::kAuto;
  int port = 8000;
  // The address the API listens on (0.0.0.0 for every interface); default:
  // the head's address.
  std::optional<std::string> bind;
  std::optional<std::filesystem::path> api_key_file;
  EngineOptions engine;
  VllmDockerOptions vllm_docker;
  RestartPolicy restart;
  SourceLocation location;

  // Whether the ranks compute on CPUs (the engine with device cpu): no GPU
  // is placed, checked or sized.
  bool RanksOnCpu() const { return kind == RuntimeKind::kEngine && engine.device == EngineDevice::kCpu; }
};

struct Inventory {
  std::filesystem::path file;           // the inventory file itself
  std::string cluster_name;
  SshSettings ssh;                      // top-level defaults (also merged into hosts)
  Network network;
  std::vector<Host> hosts;
  std::vector<Image> images;
  std::vector<Model> models;
  Runtime runtime;

  // The host with role head, or the first host when none is marked.
  const Host* Head() const;
  const Model* FindModel(const std::string& name) const;
  const Image* FindImage(const std::string& name) const;
  // Where `model` lives on `host` (the host's override or the model's path).
  std::filesystem::path ModelPathOn(const Host& host, const Model& model) const;
};

const char* RuntimeKindName(RuntimeKind kind);  // "engine" | "vllm-docker"
const char* DtypeName(Dtype dtype);             // "auto" | "float16" | ...
const char* EngineDeviceName(EngineDevice device);  // "cuda" | "cpu"
const char* RestartPolicyName(RestartPolicyKind policy);  // "never" | "on-failure" | "always"

}  // namespace cluster::inventory
