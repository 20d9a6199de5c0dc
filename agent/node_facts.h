// What clusterd answers to a `facts` request: this host's GPUs, interfaces,
// /dev/shm, free disk, the model folder's manifest hash, whether the ports the
// runtime needs are free, Docker and the runtime's image. `clusterctl check`
// evaluates the answers of every host (cli/lifecycle/check_report.h).
//
// Collecting never fails because the host lacks something: a missing
// nvidia-smi, Docker or model is a fact (gpu_error, docker_error,
// model_present) for `check` to judge.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "agent/interface_facts.h"
#include "common/status.h"
#include "control/messages.h"

namespace cluster::agent {

// Where the collector looks. The defaults are the real host; tests point them
// at fixture folders and stand-in programs.
struct NodeProbes {
  std::filesystem::path net_sysfs = "/sys/class/net";
  std::string nvidia_smi = "nvidia-smi";  // looked up in PATH unless it has a '/'
  std::string docker = "docker";          // honours DOCKER_HOST from our environment
  std::filesystem::path shm = "/dev/shm";
  // The hash cache (common/manifest.h) shared with `clusterd receive`, so a
  // second check of a 141 GB model reads no file; "" = DefaultHashCacheFile().
  std::filesystem::path hash_cache;
  // Interface addresses; nullopt = read them with getifaddrs(3).
  std::optional<Ipv4AddressMap> ipv4_addresses;
  // The engine binary for request.engine_device, or why there is none.
  StatusOr<std::filesystem::path> engine = NotFoundError("no engine binary beside clusterd");
};

// $HOME/.cache/clusterd/hash-cache (/tmp/.cache/... without $HOME): the same
// file `clusterd receive` keeps.
std::filesystem::path DefaultHashCacheFile();

// Collects this host's facts for `request`. InvalidArgument when
// request.model_path or request.disk_path is not absolute; every other
// problem is recorded in the facts. Runs nvidia-smi and docker (each at most
// once per question), with request.engine_device `infer-engine probe` (at
// most 30 s), and, with request.hash_model, reads the model files the hash
// cache does not know.
StatusOr<control::NodeFacts> CollectNodeFacts(const control::FactsRequest& request, const NodeProbes& probes);

// The hash that names a folder's content: XXH3-128 of its serialized manifest
// (common/manifest.h), so two hosts with the same files, sizes and paths agree
// whatever the files' times or the order they were written in.
StatusOr<std::string> ModelManifestHash(const std::filesystem::path& folder, const std::filesystem::path& cache_file);

// Binds a TCP socket to ADDRESS:PORT with SO_REUSEADDR on, as the servers
// that will listen there do (the agent, the engine's HTTP server and
// rendezvous, vLLM, Ray): a port held by a listener is busy; connections of
// an earlier listener still in TIME_WAIT (a check --comm just before, a
// restart) are not, since they would not stop those servers from binding it.
control::PortFacts ProbePort(const std::string& bind_address, int port);

}  // namespace cluster::agent
