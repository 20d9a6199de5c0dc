// The `vllm-docker` runtime as argv vectors: what an operator's run_cluster.sh
// did by hand (design.md), built from a typed control::ContainerSpec.
//
// Every function here is pure: it returns the argv of one `docker` command and
// runs nothing. The agent runs them with Subprocess (never through a shell),
// so no quoting is involved; ValidateContainerSpec() still rejects every value
// that docker itself would parse as more than one thing (a ':' in a mount
// path, a newline in an env value...), because the spec comes over the wire.
//
// Lifecycle the agent drives with these (docs/agent-protocol.md):
//   1. DockerRemoveArgs(name)         a stale container of an earlier run, if any
//   2. DockerRunArgs(spec, labels)    in the foreground, supervised: its exit
//                                     status is the container's (Ray's)
//   3. head only: RayStatusArgs(name) polled until ParseRayStatusGpus() reaches
//                                     spec.expected_gpus
//   4. head only: VllmServeArgs(spec) in the foreground, supervised
//   5. down: DockerStopArgs(name), DockerRemoveArgs(name); leftovers of a
//      crashed agent are found with DockerListByLabelArgs(cluster).
// `docker exec` runs its command inside the container: killing the `docker
// exec` client does not stop `vllm serve`; stopping the container does.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "control/messages.h"

namespace cluster::agent {

// Labels put on every container the agent starts, so that `down` (or a
// restarted agent) finds what an earlier run left behind.
inline constexpr const char* kClusterLabel = "clusterd.cluster";
inline constexpr const char* kDeploymentLabel = "clusterd.deployment";

struct ContainerLabels {
  std::string cluster;     // inventory cluster.name
  std::string deployment;  // StartRequest.deployment
};

// OK when every field of `spec` (and `labels`) is well formed; else
// InvalidArgument naming the first bad field and its value, e.g.
//   container.image: "Vllm/Vllm-Openai" is not an image reference (...)
// Checks syntax only: it does not ask docker whether the image exists.
Status ValidateContainerSpec(const control::ContainerSpec& spec);
Status ValidateContainerLabels(const ContainerLabels& labels);

// The container's Ray node, in the foreground (no -d):
//   docker run --name N --network host (--shm-size S | --ipc host)
//     [--gpus all | --gpus "device=0,1"] -v MODEL:MODEL:ro [-v VOLUME...]
//     [--device DEVICE...] [--ulimit NAME=SOFT:HARD...]
//     -e K=V... [-e VLLM_API_KEY] --label clusterd.cluster=C
//     --label clusterd.deployment=D --pull never --entrypoint ray IMAGE
//     start --block (--head --port P --dashboard-host 127.0.0.1 | --address H:P)
//     --node-ip-address A
// REQUIRES: ValidateContainerSpec(spec) and ValidateContainerLabels(labels) ok.
std::vector<std::string> DockerRunArgs(const control::ContainerSpec& spec, const ContainerLabels& labels,
                                       const std::string& docker = "docker");

// With spec.api_key, DockerRunArgs names VLLM_API_KEY without a value: the
// agent puts its own copy of the key in the environment of the `docker run`
// process, and docker passes it on, so no argv or log holds it.
inline constexpr const char* kApiKeyVariable = "VLLM_API_KEY";

// `docker stop -t GRACE NAME`: SIGTERM to the container's init, SIGKILL after
// `grace_s` seconds.
std::vector<std::string> DockerStopArgs(const std::string& name, int grace_s = 30,
                                        const std::string& docker = "docker");
// `docker rm -f NAME`: kills it if it runs; exits non-zero when there is none.
std::vector<std::string> DockerRemoveArgs(const std::string& name, const std::string& docker = "docker");
// `docker exec NAME ray status`.
std::vector<std::string> RayStatusArgs(const std::string& name, const std::string& docker = "docker");
// `docker exec NAME vllm serve MODEL [--served-model-name S]
//   --tensor-parallel-size TP --pipeline-parallel-size PP [--dtype D]
//   --host ADDR --port P --distributed-executor-backend ray EXTRA...`
// where ADDR is spec.serve_address, or spec.node_address when that is empty.
// REQUIRES: spec.head and ValidateContainerSpec(spec) ok.
std::vector<std::string> VllmServeArgs(const control::ContainerSpec& spec, const std::string& docker = "docker");
// `docker ps -a --filter label=clusterd.cluster=C --format {{.Names}}`: one
// container name per line, running or not.
std::vector<std::string> DockerListByLabelArgs(const std::string& cluster, const std::string& docker = "docker");

// The cluster's total GPU count from `ray status` output: the "N.N/T.T GPU"
// line of the cluster-wide usage block ("Usage:" in Ray 1.x/2.x before the v2
// autoscaler, "Total Usage:" after it; per-node "Usage:" blocks of `-v` are
// indented and ignored). 0 when the block has no GPU line (Ray saw none);
// nullopt when the text has no usage block at all (Ray not up, or an error).
std::optional<double> ParseRayStatusGpus(std::string_view ray_status_output);

}  // namespace cluster::agent
