// The agent protocol's messages (docs/agent-protocol.md): the closed set of
// typed requests clusterctl (or a peer agent) may send to clusterd, and their
// replies. Every request is one of the `Request` alternatives below; there is
// no request that carries a command line, a script or code to run: the agent
// builds every argv itself from these typed fields and validates them
// (Validate*() below) before acting.
//
// On the wire each message is one frame: a 4-byte big-endian length and that
// many bytes of JSON (at most kMaxFrameBytes). Requests are
//   {"type": "facts", "body": {...}}
// and replies
//   {"ok": true, "body": {...}, "more": false}
//   {"ok": false, "error": {"code": "unavailable", "message": "..."}}
// A reply with "more": true is followed by further replies to the same
// request (only `logs` with follow streams).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace cluster::control {

inline constexpr std::size_t kMaxFrameBytes = std::size_t{1} << 20;
inline constexpr int kProtocolVersion = 1;
inline constexpr int kDefaultAgentPort = 7411;

// ---- hello: who is there ----------------------------------------------------
struct HelloRequest {};
struct HelloReply {
  std::string agent_version;
  int protocol = kProtocolVersion;
  std::string cluster;        // cluster.name the agent was started for
  std::string host;           // inventory host name
  std::int64_t pid = 0;
  std::int64_t uptime_s = 0;
  std::int64_t unix_time_ms = 0;  // the agent's clock, for skew
};

// ---- facts: what `check` evaluates -----------------------------------------
struct FactsRequest {
  std::string model_path;     // absolute; "" to skip the model
  bool hash_model = true;     // compute the model folder's manifest hash
  std::vector<int> ports;     // TCP ports that must be free on the cluster address
  std::string bind_address;   // where those ports would be bound
  std::string image;          // Docker image reference to look for; "" to skip
  std::string disk_path;      // folder whose free space to report ("" = model_path's parent)
  // "cuda": run the engine beside the agent (`infer-engine probe`) on this
  // device, so `check` knows the engine can open the GPU; "" to skip.
  std::string engine_device;
};

// What `infer-engine probe` said on the host.
struct EngineDeviceFacts {
  bool ok = false;
  std::string device;              // "cuda:0"
  std::string name;                // "NVIDIA H200"
  std::string compute_capability;  // "9.0"
  std::string driver_cuda;         // "13.0": the newest CUDA the driver supports
  std::string runtime_cuda;        // "13.0": the engine's runtime
  std::string error;               // why not, with the fix, when !ok
};

struct GpuFacts {
  int index = 0;
  std::string name;                   // "Tesla T4"
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_used_bytes = 0;
  std::uint64_t memory_free_bytes = 0;
  std::string compute_capability;     // "7.5"
  std::string driver_version;         // "535.104.05"
  int utilization_percent = 0;
};

struct InterfaceFacts {
  std::string name;
  bool up = false;
  bool loopback = false;
  bool is_virtual = false;            // docker0, virbr*, tailscale*, lxcbr*, veth*, br-*...
  int mtu = 0;
  std::optional<int> speed_mbps;      // nullopt when the driver does not say
  std::vector<std::string> addresses; // IPv4 "ADDRESS/PREFIX"
};

struct PortFacts {
  int port = 0;
  bool free = false;
  std::string error;                  // why not free ("address already in use")
};

struct NodeFacts {
  std::string hostname;
  std::string agent_version;
  std::int64_t unix_time_ms = 0;
  // GPUs: from NVML or `nvidia-smi`. gpu_error says why none could be read
  // ("nvidia-smi not found", its stderr...); empty with no GPUs means none.
  std::vector<GpuFacts> gpus;
  std::string gpu_error;
  std::vector<InterfaceFacts> interfaces;
  std::uint64_t shm_bytes = 0;        // size of /dev/shm
  std::string disk_path;
  std::uint64_t disk_free_bytes = 0;
  bool model_present = false;
  std::string model_manifest_hash;    // "" when not hashed or absent
  std::string model_error;
  std::vector<PortFacts> ports;
  bool docker_present = false;
  std::string docker_version;
  std::string docker_error;
  std::optional<bool> image_present;  // nullopt when no image was asked for
  std::optional<EngineDeviceFacts> engine_device;  // nullopt when not asked for
  // The enabled systemd unit that starts this agent at boot ("" when none):
  // with runtime.restart always, what brings the deployment back after a
  // reboot.
  std::string agent_boot_unit;
};

// ---- probe: agent-to-agent reachability ------------------------------------
// Asks the agent to open a control connection to a peer agent (one of the
// peers it was configured with, never an arbitrary address) and say hello.
struct ProbeRequest {
  std::string peer;                   // inventory host name of the peer
};
struct ProbeReply {
  bool reachable = false;
  std::int64_t rtt_ms = 0;
  std::string source_address;         // the local address the connection came from
  std::string error;
};

// ---- start: ranks or a container -------------------------------------------
// One engine rank (runtime `engine`). The agent runs the engine binary that
// lies beside its own, with flags built from these fields.
struct RankSpec {
  int rank = 0;
  int world_size = 1;
  int tensor_parallel = 1;            // world_size = tensor_parallel x pipeline_parallel
  int pipeline_parallel = 1;
  int stage = 0;
  int tp_rank = 0;
  std::optional<int> gpu;             // CUDA device index; nullopt on cpu
  std::string device = "cpu";         // "cpu" | "cuda"
  std::string dtype = "float32";      // "float16" | "bfloat16" | "float32" | "auto" (the engine decides)
  std::string model_path;             // absolute
  std::string served_model_name;
  std::string rendezvous;             // "ADDRESS:PORT" of rank 0
  std::vector<std::string> rendezvous_peers;  // the hosts' addresses: the only ones rank 0's rendezvous admits
  std::string local_address;          // this host's cluster address: where the rank's connections come from
  std::string serve_address;          // rank 0: where the HTTP API listens
  int serve_port = 0;                 // rank 0 only; 0 for other ranks
  bool api_key = false;               // rank 0 requires the API key given to `clusterd start`
  std::optional<int> max_context;
  std::optional<double> gpu_memory_fraction;  // cuda: the share of the GPU the engine may use
  bool batch_invariant = false;       // --batch-invariant: a token's result never depends on the rest of its step
  std::map<std::string, std::string> env;  // NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME... (env_allow_list.h)
};

// The container of runtime `vllm-docker` on one host.
struct ContainerSpec {
  std::string name;                   // docker container name
  std::string image;                  // image reference
  std::string shm_size;               // "16g"
  std::string model_path;             // mounted read-only at the same path
  std::map<std::string, std::string> env;
  bool gpus = true;                   // --gpus: gpu_devices, or all when that is empty
  std::vector<int> gpu_devices;       // the host's GPUs the container gets, e.g. {0, 1, 2, 3}
  // What operators add to `docker run`, canonical (common/docker_options.h).
  std::vector<std::string> volumes;   // "HOST:CONTAINER:ro|rw"
  std::vector<std::string> devices;   // "HOST:CONTAINER:PERMS"
  std::vector<std::string> ulimits;   // "NAME=SOFT:HARD", by name
  bool ipc_host = false;              // --ipc host instead of --shm-size
  bool head = false;                  // Ray head (and vllm serve) or worker
  std::string node_address;           // this host's cluster address
  std::string head_address;           // the head's cluster address
  int ray_port = 6379;
  int expected_gpus = 0;              // head: wait until Ray sees this many
  // vllm serve (head only)
  std::string served_model_name;
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
  std::string dtype;                  // "" = vLLM's default
  int serve_port = 8000;
  std::string serve_address;          // vllm serve --host; "" = node_address
  std::vector<std::string> vllm_args; // extra `vllm serve` arguments (argv words)
  bool api_key = false;               // head: vLLM requires the API key given to `clusterd start`
};

// runtime.restart (docs/inventory.md): whether the agents bring the
// deployment back after it stopped on its own, and how often. The head's
// agent (the host of rank 0 or of the Ray head) decides; the others follow
// its `gang-restart` (docs/lifecycle.md, "Restarts").
enum class RestartPolicyKind { kNever, kOnFailure, kAlways };
struct RestartPolicy {
  RestartPolicyKind policy = RestartPolicyKind::kNever;
  int max_restarts = 5;               // within window_s
  int window_s = 600;
  int backoff_s = 10;                 // before a restart; doubles with each one in the window
};

// "10m", "90s", "1h": a number of seconds as the inventory writes it.
std::string DurationText(int seconds);

struct PeerAgent {
  std::string host;                   // inventory host name
  std::string address;
  int port = kDefaultAgentPort;
};

struct StartRequest {
  std::string deployment;             // id chosen by clusterctl up; names logs and state
  // The runtime's name ("engine", "vllm-docker"): the agent hands the request
  // to its launcher of that name and refuses a name it does not know. The
  // codec only checks that it is a name (IsRuntimeName).
  std::string runtime = "engine";
  std::vector<RankSpec> ranks;        // runtime engine: this host's ranks (may be empty)
  std::optional<ContainerSpec> container;  // runtime vllm-docker
  std::vector<PeerAgent> peers;       // every other agent: told when a unit here fails
  RestartPolicy restart;              // absent on the wire: never
};
struct StartReply {
  std::vector<std::string> started;   // unit names: "rank 0", "container clusterd-x"
};

// ---- status ------------------------------------------------------------------
struct StatusRequest {};

enum class UnitState { kStarting, kRunning, kExited, kFailed, kStopped };

struct UnitStatus {
  std::string name;                   // "rank 0" | "container NAME"
  std::optional<int> rank;
  std::int64_t pid = 0;
  UnitState state = UnitState::kStarting;
  std::optional<int> exit_code;
  int restarts = 0;
  std::int64_t started_unix_ms = 0;
  std::int64_t ended_unix_ms = 0;
  std::string log_file;
};

// The first failure of a deployment, as seen anywhere in the cluster.
struct GangFailure {
  std::string host;
  std::string unit;
  std::string message;                // "exited with code 1", "killed by signal 9"
  std::vector<std::string> log_tail;  // last lines of its log
  std::int64_t unix_ms = 0;
  // What the restart policy weighs: "failed" (an exit code other than 0, a
  // signal, a unit that could not start), "exited" (a unit ended with code
  // 0) or "agent-restarted" (the host's agent restarted; its units had
  // ended with the previous one).
  std::string cause = "failed";
};

// Where the deployment stands with its restart policy, as this agent knows it.
struct RestartState {
  RestartPolicy policy;
  int restarts = 0;                   // gang restarts of the deployment so far
  std::optional<GangFailure> last_failure;  // the latest failure, also after a restart
  std::int64_t next_unix_ms = 0;      // when the pending restart begins; 0: none pending
  std::string waiting;                // a pending restart waits for this ("the agent of h2 to answer")
  std::string not_restarted;          // why the stopped deployment stays down; "" otherwise
};

struct StatusReply {
  HelloReply agent;
  std::string deployment;             // "" when nothing was started
  std::vector<UnitStatus> units;
  std::optional<GangFailure> failure; // the failure that stopped the deployment (cleared by a restart)
  std::optional<RestartState> restart;
  std::vector<GpuFacts> gpus;         // current memory use and utilisation
};

// ---- logs --------------------------------------------------------------------
struct LogsRequest {
  std::string unit;                   // "" = every unit of this host
  std::optional<int> rank;            // alternatively, by rank
  std::int64_t since_unix_ms = 0;     // 0 = from the start
  int tail_lines = -1;                // -1 = all (capped by kMaxFrameBytes per reply)
  bool follow = false;
};
struct LogLine {
  std::string unit;
  std::int64_t unix_ms = 0;
  std::string text;
};
struct LogsReply {
  std::vector<LogLine> lines;
};

// ---- stop / gang failure / shutdown ---------------------------------------
struct StopRequest {
  std::string reason;                 // recorded in the units' logs
};
struct StopReply {
  std::vector<std::string> stopped;
  std::vector<std::string> left;      // units that would not stop (should be empty)
};

// Sent by an agent to its peers when one of its units fails. `generation`
// counts the gang's restarts: a failure of an earlier generation, late on
// the wire, is ignored.
struct GangFailureRequest {
  std::string deployment;
  GangFailure failure;
  int generation = 0;
};

// Sent by the head's agent to every other agent: start this host's units of
// `deployment` again (as its last `start` gave them), as generation
// `generation`, after `failure`.
struct GangRestartRequest {
  std::string deployment;
  int generation = 0;
  GangFailure failure;
};

// Stops every unit, replies, then the agent exits (down --purge).
struct ShutdownRequest {};

// ---- comm check: the collectives measured on the placement -----------------
// `clusterctl check --comm` asks every host's agent at once to run
// `infer-engine bench-comm --json` for each of its ranks (the world `up`
// would start, with a token of its own) and to wait for them, killing what
// still runs after timeout_s. Rank 0's output is the measurement.
struct CommCheckRequest {
  std::vector<RankSpec> ranks;        // this host's ranks
  std::string sizes = "64K,1M,16M";   // bench-comm --sizes
  int iterations = 10;                // bench-comm --iterations
  int timeout_s = 120;                // the whole run, rendezvous included
};
struct CommCheckRank {
  int rank = 0;
  std::optional<int> exit_code;       // nullopt: still running at timeout_s (killed)
  std::string output;                 // stdout, at most 256 KiB (rank 0: the JSON document)
  std::string error;                  // the end of stderr, at most 4 KiB
};
struct CommCheckReply {
  std::vector<CommCheckRank> ranks;
};

using Request = std::variant<HelloRequest, FactsRequest, ProbeRequest, StartRequest, StatusRequest, LogsRequest,
                             StopRequest, GangFailureRequest, ShutdownRequest, CommCheckRequest, GangRestartRequest>;

// The wire name of a request ("hello", "facts", "probe", "start", "status",
// "logs", "stop", "gang-failure", "shutdown", "comm-check", "gang-restart").
const char* RequestType(const Request& request);

// JSON codec. Decode* return InvalidArgument naming the field when a field is
// missing, of the wrong type, or beyond its size limit (strings 4 KiB, lists
// 256 items, env 64 entries with keys on the allow-list of
// common/env_allow_list.h); a deployment id must be a name (see below).
nlohmann::json EncodeRequest(const Request& request);
StatusOr<Request> DecodeRequest(const nlohmann::json& frame);

nlohmann::json ToJson(const HelloReply&);
nlohmann::json ToJson(const NodeFacts&);
nlohmann::json ToJson(const ProbeReply&);
nlohmann::json ToJson(const StartReply&);
nlohmann::json ToJson(const StatusReply&);
nlohmann::json ToJson(const LogsReply&);
nlohmann::json ToJson(const StopReply&);
nlohmann::json ToJson(const CommCheckReply&);
nlohmann::json ToJson(const RestartState&);
StatusOr<HelloReply> HelloReplyFromJson(const nlohmann::json&);
StatusOr<NodeFacts> NodeFactsFromJson(const nlohmann::json&);
StatusOr<ProbeReply> ProbeReplyFromJson(const nlohmann::json&);
StatusOr<StartReply> StartReplyFromJson(const nlohmann::json&);
StatusOr<StatusReply> StatusReplyFromJson(const nlohmann::json&);
StatusOr<LogsReply> LogsReplyFromJson(const nlohmann::json&);
StatusOr<StopReply> StopReplyFromJson(const nlohmann::json&);
StatusOr<CommCheckReply> CommCheckReplyFromJson(const nlohmann::json&);
StatusOr<RestartState> RestartStateFromJson(const nlohmann::json&);

const char* UnitStateName(UnitState state);  // "starting" | "running" | "exited" | "failed" | "stopped"
// Whether `name` can name a runtime: a lowercase letter, then lowercase
// letters, digits and '-', at most 64 characters.
bool IsRuntimeName(std::string_view name);
const char* RestartPolicyName(RestartPolicyKind kind);  // "never" | "on-failure" | "always"

}  // namespace cluster::control
