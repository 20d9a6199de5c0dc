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
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

enum class Dtype { kAuto, kFloat16, kBfloat16, kFloat32 };

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

// A runtime's options block under `runtime` (runtime.engine,
// runtime.vllm_docker), as its part of the inventory reads it
// (runtime_definition.h). Each runtime derives its own, with a static
// `kBlock`, the block's key, for Runtime::Block.
class RuntimeOptions {
 public:
  virtual ~RuntimeOptions() = default;
  virtual std::unique_ptr<RuntimeOptions> Clone() const = 0;
};

// The options blocks of an inventory, by block key; a copy copies them.
class RuntimeBlocks {
 public:
  RuntimeBlocks() = default;
  RuntimeBlocks(const RuntimeBlocks& other);
  RuntimeBlocks& operator=(const RuntimeBlocks& other);
  RuntimeBlocks(RuntimeBlocks&&) = default;
  RuntimeBlocks& operator=(RuntimeBlocks&&) = default;

  const RuntimeOptions* Find(std::string_view block) const;
  RuntimeOptions* Find(std::string_view block);
  void Set(std::string block, std::unique_ptr<RuntimeOptions> options);

 private:
  std::map<std::string, std::unique_ptr<RuntimeOptions>, std::less<>> blocks_;
};

class RuntimeDefinition;  // runtime_definition.h

struct Runtime {
  // The runtime's name ("engine", "vllm-docker"): one the loader's runtime
  // definitions know (runtime_definition.h).
  std::string kind = "engine";
  std::string model;                    // name of an entry of artifacts.models
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
  Dtype dtype = Dtype::kAuto;
  int port = 8000;
  // The address the API listens on (0.0.0.0 for every interface); default:
  // the head's address.
  std::optional<std::string> bind;
  std::optional<std::filesystem::path> api_key_file;
  // Every runtime's options block the file gives, as read (those of other
  // kinds too: the loader reads and warns about them).
  RuntimeBlocks blocks;
  RestartPolicy restart;
  SourceLocation location;
  // The definition of `kind` the inventory was loaded with; when null (an
  // inventory made in code) or of another kind, the built-in one of `kind`.
  std::shared_ptr<const RuntimeDefinition> definition;

  // What the inventory knows of its runtime. REQUIRES: `kind` is the name of
  // `definition` or of a built-in runtime.
  const RuntimeDefinition& Definition() const;

  // The options block of type Options (its Options::kBlock), or Options'
  // defaults when the file gives none.
  template <class Options>
  const Options& Block() const {
    static const Options kDefaults;
    const auto* options = dynamic_cast<const Options*>(blocks.Find(Options::kBlock));
    return options ? *options : kDefaults;
  }
  // The same, to change; the defaults are added when absent.
  template <class Options>
  Options& MutableBlock() {
    if (auto* options = dynamic_cast<Options*>(blocks.Find(Options::kBlock))) return *options;
    auto added = std::make_unique<Options>();
    Options& options = *added;
    blocks.Set(std::string(Options::kBlock), std::move(added));
    return options;
  }

  // Whether the ranks compute on CPUs (the engine with device cpu): no GPU
  // is placed, checked or sized.
  bool RanksOnCpu() const;
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

const char* DtypeName(Dtype dtype);             // "auto" | "float16" | ...
const char* RestartPolicyName(RestartPolicyKind policy);  // "never" | "on-failure" | "always"

}  // namespace cluster::inventory
