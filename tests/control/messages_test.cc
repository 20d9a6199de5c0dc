// The agent protocol's JSON codec (control/messages.h): every message
// survives a round trip, and a request that breaks a rule is refused with a
// message naming the field.
#include "control/messages.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using namespace cluster;
using namespace cluster::control;
using nlohmann::json;

namespace {

// Encodes, decodes and encodes again: the two encodings must be equal, so
// every field the encoder writes is read back.
template <typename T>
Request RoundTrip(const T& request) {
  const json first = EncodeRequest(Request(request));
  auto decoded = DecodeRequest(first);
  REQUIRE(decoded.ok());
  CHECK(EncodeRequest(*decoded) == first);
  REQUIRE(std::holds_alternative<T>(*decoded));
  return *decoded;
}

HelloReply SampleHello() {
  HelloReply hello;
  hello.agent_version = "0.1.0";
  hello.protocol = 1;
  hello.cluster = "lab";
  hello.host = "h1";
  hello.pid = 4242;
  hello.uptime_s = 77;
  hello.unix_time_ms = 1'700'000'000'123;
  return hello;
}

GpuFacts SampleGpu() {
  GpuFacts gpu;
  gpu.index = 1;
  gpu.name = "Tesla T4";
  gpu.memory_total_bytes = 16'000'000'000ULL;
  gpu.memory_used_bytes = 1'000;
  gpu.memory_free_bytes = 15'999'999'000ULL;
  gpu.compute_capability = "7.5";
  gpu.driver_version = "535.104.05";
  gpu.utilization_percent = 12;
  return gpu;
}

RankSpec SampleRank() {
  RankSpec rank;
  rank.rank = 1;
  rank.world_size = 4;
  rank.tensor_parallel = 2;
  rank.pipeline_parallel = 2;
  rank.stage = 0;
  rank.tp_rank = 1;
  rank.gpu = 0;
  rank.device = "cuda";
  rank.dtype = "float16";
  rank.model_path = "/models/qwen";
  rank.served_model_name = "qwen";
  rank.rendezvous = "10.0.0.1:29500";
  rank.serve_address = "10.0.0.1";
  rank.serve_port = 8000;
  rank.api_key = true;
  rank.max_context = 4096;
  rank.batch_invariant = true;
  rank.env = {{"NCCL_SOCKET_IFNAME", "eth1"}, {"GLOO_SOCKET_IFNAME", "eth1"}};
  return rank;
}

ContainerSpec SampleContainer() {
  ContainerSpec c;
  c.name = "clusterd-lab";
  c.image = "vllm/vllm-openai:v0.6.3";
  c.shm_size = "16g";
  c.model_path = "/models/qwen";
  c.env = {{"NCCL_DEBUG", "INFO"}};
  c.gpus = false;
  c.head = true;
  c.node_address = "10.0.0.1";
  c.head_address = "10.0.0.1";
  c.ray_port = 6380;
  c.expected_gpus = 4;
  c.served_model_name = "qwen";
  c.tensor_parallel = 2;
  c.pipeline_parallel = 2;
  c.dtype = "half";
  c.serve_port = 8001;
  c.vllm_args = {"--max-model-len", "4096"};
  return c;
}

GangFailure SampleFailure() {
  return GangFailure{"h2", "rank 3", "exited with code 1", {"Traceback...", "CUDA out of memory"}, 1'700'000'000'999};
}

json StartBody() {
  return json::parse(R"({"deployment": "d1", "runtime": "engine",
      "ranks": [{"rank": 0, "world_size": 1, "stage": 0, "tp_rank": 0, "device": "cpu",
                 "dtype": "float32", "model_path": "/m", "rendezvous": "127.0.0.1:29500"}]})");
}

// The message of decoding {"type": TYPE, "body": BODY}; "" when it decodes.
std::string DecodeError(const std::string& type, const json& body) {
  auto decoded = DecodeRequest(json{{"type", type}, {"body", body}});
  if (decoded.ok()) return "";
  CHECK(decoded.status().code() == StatusCode::kInvalidArgument);
  return decoded.status().message();
}

}  // namespace

// ---- round trips ----------------------------------------------------------------

TEST_CASE("Requests without fields round-trip and may leave their body out", "[messages]") {
  RoundTrip(HelloRequest{});
  RoundTrip(StatusRequest{});
  RoundTrip(ShutdownRequest{});
  auto decoded = DecodeRequest(json{{"type", "hello"}});
  REQUIRE(decoded.ok());
  CHECK(std::holds_alternative<HelloRequest>(*decoded));
  CHECK(std::string(RequestType(*decoded)) == "hello");
}

TEST_CASE("The envelope of a request is its wire type and a body", "[messages]") {
  json frame = EncodeRequest(Request(ProbeRequest{"h2"}));
  CHECK(frame == json::parse(R"({"type": "probe", "body": {"peer": "h2"}})"));
  CHECK(std::string(RequestType(Request(GangFailureRequest{}))) == "gang-failure");
}

TEST_CASE("A facts request round-trips every field", "[messages]") {
  FactsRequest facts{"/models/qwen", false, {8000, 29500}, "10.0.0.1", "vllm/vllm-openai:v0.6.3", "/models"};
  auto back = std::get<FactsRequest>(RoundTrip(facts));
  CHECK(back.model_path == "/models/qwen");
  CHECK_FALSE(back.hash_model);
  CHECK(back.ports == std::vector<int>{8000, 29500});
  CHECK(back.disk_path == "/models");
}

TEST_CASE("A facts request with an empty body takes the defaults", "[messages]") {
  auto decoded = DecodeRequest(json{{"type", "facts"}, {"body", json::object()}});
  REQUIRE(decoded.ok());
  auto facts = std::get<FactsRequest>(*decoded);
  CHECK(facts.hash_model);
  CHECK(facts.ports.empty());
  CHECK(facts.model_path.empty());
}

TEST_CASE("A start request round-trips ranks, the container and peers", "[messages]") {
  StartRequest start;
  start.deployment = "lab-20240101";
  start.runtime = "vllm-docker";
  start.ranks = {SampleRank(), RankSpec{}};
  start.container = SampleContainer();
  start.peers = {PeerAgent{"h2", "10.0.0.2", 7412}};
  auto back = std::get<StartRequest>(RoundTrip(start));
  CHECK(back.runtime == "vllm-docker");
  REQUIRE(back.ranks.size() == 2);
  CHECK(back.ranks[0].gpu == 0);
  CHECK_FALSE(back.ranks[1].gpu.has_value());
  CHECK(back.ranks[0].env.at("NCCL_SOCKET_IFNAME") == "eth1");
  CHECK(back.ranks[0].api_key);
  CHECK(back.ranks[0].max_context == 4096);
  CHECK(back.ranks[0].batch_invariant);
  CHECK_FALSE(back.ranks[1].batch_invariant);
  REQUIRE(back.container.has_value());
  CHECK(back.container->vllm_args == std::vector<std::string>{"--max-model-len", "4096"});
  CHECK_FALSE(back.container->gpus);
  CHECK(back.peers[0].port == 7412);
}

TEST_CASE("A comm-check request round-trips its ranks and bounds, and its reply its ranks' outcomes", "[messages]") {
  CommCheckRequest request;
  request.ranks = {SampleRank()};
  request.sizes = "1M";
  request.iterations = 3;
  request.timeout_s = 60;
  auto back = std::get<CommCheckRequest>(RoundTrip(request));
  REQUIRE(back.ranks.size() == 1);
  CHECK(back.ranks[0].env.at("NCCL_SOCKET_IFNAME") == "eth1");
  CHECK(back.sizes == "1M");
  CHECK(back.iterations == 3);
  CHECK(back.timeout_s == 60);
  CHECK(std::string(RequestType(Request(request))) == "comm-check");

  CommCheckReply reply;
  reply.ranks = {CommCheckRank{0, 0, "{}", ""}, CommCheckRank{1, std::nullopt, "", "did not finish"}};
  auto decoded = CommCheckReplyFromJson(ToJson(reply));
  REQUIRE(decoded.ok());
  REQUIRE(decoded->ranks.size() == 2);
  CHECK(decoded->ranks[0].exit_code == 0);
  CHECK(decoded->ranks[0].output == "{}");
  CHECK_FALSE(decoded->ranks[1].exit_code.has_value());
  CHECK(decoded->ranks[1].error == "did not finish");
  CHECK(DecodeError("comm-check", json::object()) == "comm-check.ranks: required field is missing");
}

TEST_CASE("A start request leaves optional fields to their defaults", "[messages]") {
  auto decoded = DecodeRequest(json{{"type", "start"}, {"body", StartBody()}});
  REQUIRE(decoded.ok());
  auto start = std::get<StartRequest>(*decoded);
  REQUIRE(start.ranks.size() == 1);
  CHECK_FALSE(start.ranks[0].gpu.has_value());
  CHECK(start.ranks[0].serve_port == 0);
  CHECK(start.ranks[0].tensor_parallel == 1);
  // A request of a clusterctl that does not know batch_invariant asks for the default mode.
  CHECK_FALSE(start.ranks[0].batch_invariant);
  CHECK_FALSE(start.container.has_value());
  CHECK(start.peers.empty());
}

TEST_CASE("Logs, stop and gang-failure requests round-trip", "[messages]") {
  auto logs = std::get<LogsRequest>(RoundTrip(LogsRequest{"rank 0", 0, 1234, 50, true}));
  CHECK(logs.rank == 0);
  CHECK(logs.follow);
  CHECK(std::get<StopRequest>(RoundTrip(StopRequest{"down"})).reason == "down");
  auto gang = std::get<GangFailureRequest>(RoundTrip(GangFailureRequest{"d1", SampleFailure()}));
  CHECK(gang.failure.log_tail.size() == 2);
  CHECK(gang.failure.unix_ms == 1'700'000'000'999);
}

TEST_CASE("A start request carries its restart policy, and without one it is never restarted", "[messages]") {
  auto plain = std::get<StartRequest>(*DecodeRequest(json{{"type", "start"}, {"body", StartBody()}}));
  CHECK(plain.restart.policy == RestartPolicyKind::kNever);
  StartRequest start = plain;
  start.restart = RestartPolicy{RestartPolicyKind::kOnFailure, 3, 3600, 30};
  auto back = std::get<StartRequest>(RoundTrip(start));
  CHECK(back.restart.policy == RestartPolicyKind::kOnFailure);
  CHECK(back.restart.max_restarts == 3);
  CHECK(back.restart.window_s == 3600);
  CHECK(back.restart.backoff_s == 30);
  CHECK(EncodeRequest(start)["body"]["restart"]["policy"] == "on-failure");

  // The inventory's bounds hold on the wire too.
  json body = StartBody();
  body["restart"] = json{{"policy", "always"}, {"max_restarts", 1000}};
  CHECK(DecodeError("start", body) == "start.restart.max_restarts: must be 1 to 100");
  body["restart"] = json{{"policy", "always"}, {"backoff_s", 0}};
  CHECK(DecodeError("start", body) == "start.restart.backoff_s: must be 1 to 3600");
  body["restart"] = json{{"policy", "sometimes"}};
  CHECK(DecodeError("start", body) ==
        "start.restart.policy: expected one of never, on-failure, always; got 'sometimes'");
}

TEST_CASE("A gang-restart request round-trips and its generation is 1 or more", "[messages]") {
  auto restart = std::get<GangRestartRequest>(RoundTrip(GangRestartRequest{"d1", 2, SampleFailure()}));
  CHECK(restart.generation == 2);
  CHECK(restart.failure.log_tail.size() == 2);
  CHECK(DecodeError("gang-restart", json{{"deployment", "d1"}, {"generation", 0}, {"failure", json::object()}}) ==
        "gang-restart.generation: must be 1 or more");
  auto gang = std::get<GangFailureRequest>(RoundTrip(GangFailureRequest{"d1", SampleFailure(), 3}));
  CHECK(gang.generation == 3);
  GangFailure exited = SampleFailure();
  exited.cause = "exited";
  CHECK(std::get<GangFailureRequest>(RoundTrip(GangFailureRequest{"d1", exited, 0})).failure.cause == "exited");
  const json failure{{"host", "h1"}, {"unit", "rank 0"}, {"message", "m"}, {"unix_ms", 1}, {"cause", "bored"}};
  CHECK(DecodeError("gang-failure", json{{"deployment", "d1"}, {"failure", failure}}) ==
        "gang-failure.failure.cause: expected failed, exited or agent-restarted");
}

TEST_CASE("A status reply round-trips where the deployment stands with its restart policy", "[messages]") {
  StatusReply status;
  status.agent = SampleHello();
  status.deployment = "d1";
  RestartState restart;
  restart.policy = RestartPolicy{RestartPolicyKind::kAlways, 5, 600, 10};
  restart.restarts = 2;
  restart.last_failure = SampleFailure();
  restart.next_unix_ms = 1'700'000'001'000;
  restart.waiting = "the agent of h2 to answer";
  status.restart = restart;
  auto back = StatusReplyFromJson(ToJson(status));
  REQUIRE(back.ok());
  CHECK(ToJson(*back) == ToJson(status));
  REQUIRE(back->restart.has_value());
  CHECK(back->restart->restarts == 2);
  CHECK(back->restart->policy.policy == RestartPolicyKind::kAlways);
  CHECK(ToJson(status)["restart"]["policy"]["policy"] == "always");
}

TEST_CASE("Every reply round-trips through ToJson and its FromJson", "[messages]") {
  auto hello = HelloReplyFromJson(ToJson(SampleHello()));
  REQUIRE(hello.ok());
  CHECK(ToJson(*hello) == ToJson(SampleHello()));

  NodeFacts facts;
  facts.hostname = "h1";
  facts.gpus = {SampleGpu()};
  facts.interfaces = {InterfaceFacts{"eth1", true, false, false, 9000, 25000, {"10.0.0.1/24"}},
                      InterfaceFacts{"docker0", false, false, true, 1500, std::nullopt, {}}};
  facts.shm_bytes = 1ULL << 33;
  facts.ports = {PortFacts{8000, false, "address already in use"}};
  facts.image_present = true;
  auto facts_back = NodeFactsFromJson(ToJson(facts));
  REQUIRE(facts_back.ok());
  CHECK(ToJson(*facts_back) == ToJson(facts));
  CHECK(facts_back->interfaces[0].speed_mbps == 25000);
  CHECK_FALSE(facts_back->interfaces[1].speed_mbps.has_value());
  CHECK(facts_back->image_present == true);

  ProbeReply probe{true, 3, "10.0.0.1", ""};
  CHECK(ToJson(*ProbeReplyFromJson(ToJson(probe))) == ToJson(probe));
  StartReply start{{"rank 0", "rank 1"}};
  CHECK(ToJson(*StartReplyFromJson(ToJson(start))) == ToJson(start));
  StopReply stop{{"rank 0"}, {"rank 1"}};
  CHECK(ToJson(*StopReplyFromJson(ToJson(stop))) == ToJson(stop));
  LogsReply logs{{LogLine{"rank 0", 5, "hello"}, LogLine{"rank 1", 6, "world"}}};
  CHECK(ToJson(*LogsReplyFromJson(ToJson(logs))) == ToJson(logs));
}

TEST_CASE("A status reply round-trips its units, failure and GPUs", "[messages]") {
  StatusReply status;
  status.agent = SampleHello();
  status.deployment = "d1";
  UnitStatus running{"rank 0", 0, 100, UnitState::kRunning, std::nullopt, 0, 5, 0, "/logs/rank0.log"};
  UnitStatus failed{"container x", std::nullopt, 101, UnitState::kFailed, 137, 2, 5, 9, "/logs/x.log"};
  status.units = {running, failed};
  status.failure = SampleFailure();
  status.gpus = {SampleGpu()};
  auto back = StatusReplyFromJson(ToJson(status));
  REQUIRE(back.ok());
  CHECK(ToJson(*back) == ToJson(status));
  CHECK(back->units[1].state == UnitState::kFailed);
  CHECK(back->units[1].exit_code == 137);
  CHECK_FALSE(back->units[1].rank.has_value());
  CHECK(ToJson(status)["units"][1]["state"] == "failed");
}

TEST_CASE("Enum names are the documented wire words", "[messages]") {
  CHECK(std::string(UnitStateName(UnitState::kStarting)) == "starting");
  CHECK(std::string(UnitStateName(UnitState::kStopped)) == "stopped");
}

// ---- refusals -------------------------------------------------------------------

TEST_CASE("An unknown request type is refused with the list of accepted types", "[messages]") {
  CHECK(DecodeError("exec", json::object()) ==
        "unknown request type 'exec'; this agent accepts: hello, facts, probe, start, status, logs, stop, "
        "gang-failure, shutdown, comm-check, gang-restart");
}

TEST_CASE("A request that is not an object or lacks its type is refused", "[messages]") {
  CHECK(DecodeRequest(json::array()).status().message() == "request: expected an object");
  CHECK(DecodeRequest(json{{"body", json::object()}}).status().message() == "request.type: required field is missing");
  CHECK(DecodeRequest(json{{"type", 3}}).status().message() == "request.type: expected a string");
  CHECK(DecodeError("hello", json::array()) == "hello: expected an object");
}

TEST_CASE("A wrongly typed nested field is named by its full path", "[messages]") {
  json body = StartBody();
  body["ranks"][0]["model_path"] = 7;
  CHECK(DecodeError("start", body) == "start.ranks[0].model_path: expected a string");
  body = StartBody();
  body["ranks"][0]["gpu"] = "0";
  CHECK(DecodeError("start", body) == "start.ranks[0].gpu: expected an integer");
  body = StartBody();
  body["ranks"][0]["rank"] = 1.5;
  CHECK(DecodeError("start", body) == "start.ranks[0].rank: expected an integer");
  body = StartBody();
  body["ranks"][0]["world_size"] = 1LL << 40;
  CHECK(DecodeError("start", body) ==
        "start.ranks[0].world_size: expected an integer from -2147483648 to 2147483647");
  CHECK(DecodeError("facts", json{{"hash_model", "yes"}}) == "facts.hash_model: expected a boolean");
  body = StartBody();
  body["ranks"][0]["batch_invariant"] = "true";
  CHECK(DecodeError("start", body) == "start.ranks[0].batch_invariant: expected a boolean");
  CHECK(DecodeError("facts", json{{"ports", 8000}}) == "facts.ports: expected a list");
  CHECK(DecodeError("facts", json{{"ports", {8000, "x"}}}) == "facts.ports[1]: expected an integer");
}

TEST_CASE("A missing required field is named", "[messages]") {
  json body = StartBody();
  body["ranks"][0].erase("rendezvous");
  CHECK(DecodeError("start", body) == "start.ranks[0].rendezvous: required field is missing");
  CHECK(DecodeError("probe", json::object()) == "probe.peer: required field is missing");
  CHECK(DecodeError("gang-failure", json{{"deployment", "d"}}) == "gang-failure.failure: required field is missing");
}

TEST_CASE("A deployment id is a name: never '.', '..', a path or empty", "[messages]") {
  // "." and ".." were accepted and ended up in the agents' log paths.
  for (const char* bad : {".", "..", "../etc", "a/b", "", ".hidden", "-x"}) {
    INFO(bad);
    json body = StartBody();
    body["deployment"] = bad;
    CHECK(DecodeError("start", body) ==
          std::string("start.deployment: '") + bad +
              "' is not a deployment id: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
    CHECK_FALSE(DecodeError("gang-failure", json{{"deployment", bad}}).empty());
  }
  json body = StartBody();
  body["deployment"] = std::string(65, 'd');
  CHECK_FALSE(DecodeError("start", body).empty());
  body["deployment"] = "20240101-101500-ab12";
  CHECK(DecodeError("start", body).empty());
  body = StartBody();
  body["container"] = json{{"name", "c"}};
  body["runtime"] = "vllm-docker";
  CHECK(DecodeError("start", body) == "start.container.image: required field is missing");
}

TEST_CASE("A null optional field is the same as an absent one", "[messages]") {
  json body = StartBody();
  body["ranks"][0]["gpu"] = nullptr;
  body["container"] = nullptr;
  CHECK(DecodeError("start", body).empty());
}

TEST_CASE("A runtime is any name: the agent, not the codec, knows which it runs", "[messages]") {
  // The agent refuses a name none of its launchers has (tests/agent/launcher_test.cc).
  json body = StartBody();
  body["runtime"] = "podman";
  CHECK(DecodeError("start", body).empty());
}

TEST_CASE("A runtime that is not a name is refused", "[messages]") {
  json body = StartBody();
  body["runtime"] = "Podman; rm -rf /";
  CHECK(DecodeError("start", body) ==
        "start.runtime: expected a runtime name such as engine (lowercase letters, digits and '-'); got 'Podman; rm "
        "-rf /'");
  body["runtime"] = "";
  CHECK(DecodeError("start", body) ==
        "start.runtime: expected a runtime name such as engine (lowercase letters, digits and '-'); got ''");
}

TEST_CASE("A request string over 4096 bytes is refused", "[messages]") {
  CHECK(DecodeError("probe", json{{"peer", std::string(4096, 'h')}}).empty());
  CHECK(DecodeError("probe", json{{"peer", std::string(4097, 'h')}}) ==
        "probe.peer: string of 4097 bytes exceeds the 4096-byte limit");
}

TEST_CASE("A request list over 256 items is refused", "[messages]") {
  CHECK(DecodeError("facts", json{{"ports", std::vector<int>(256, 1)}}).empty());
  CHECK(DecodeError("facts", json{{"ports", std::vector<int>(257, 1)}}) ==
        "facts.ports: list of 257 items exceeds the 256-item limit");
}

TEST_CASE("An env map holds at most 64 entries, each on the allow-list of variables", "[messages]") {
  json body = StartBody();
  json env = json::object();
  for (int i = 0; i < 64; ++i) env["NCCL_VAR_" + std::to_string(i)] = "x";
  body["ranks"][0]["env"] = env;
  CHECK(DecodeError("start", body).empty());
  env["NCCL_VAR_64"] = "x";
  body["ranks"][0]["env"] = env;
  CHECK(DecodeError("start", body) == "start.ranks[0].env: 65 entries exceed the 64-entry limit");

  // Any [A-Z_][A-Z0-9_]* name used to pass: LD_PRELOAD ran code of the
  // caller's choosing in the rank, as the agent's user.
  body["ranks"][0]["env"] = json{{"LD_PRELOAD", "/tmp/x.so"}};
  CHECK(DecodeError("start", body) ==
        "start.ranks[0].env: 'LD_PRELOAD' is not one of the variables a request may set (NCCL_*, GLOO_*, CUDA_*, "
        "NVIDIA_*, TORCH_*, PYTORCH_*, OMP_*, MKL_*, HF_*, TRANSFORMERS_*, TOKENIZERS_*, RAY_*, VLLM_*, "
        "INFER_ENGINE_RENDEZVOUS_TOKEN); the loader's (LD_*) and the like never are");
  // What `clusterctl up` sets for a multi-rank engine world passes.
  body["ranks"][0]["env"] = json{{"INFER_ENGINE_RENDEZVOUS_TOKEN", "0123abcd"}, {"GLOO_SOCKET_IFNAME", "eth0"}};
  CHECK(DecodeError("start", body).empty());
  for (const char* refused : {"LD_LIBRARY_PATH", "LD_AUDIT", "PATH", "PYTHONPATH", "BASH_ENV", "NCCL_", "HOME",
                              "INFER_ENGINE_OTHER"}) {
    body["ranks"][0]["env"] = json{{refused, "x"}};
    CHECK_FALSE(DecodeError("start", body).empty());
  }
  body["container"] = json{{"name", "c"}, {"image", "i"}, {"model_path", "/m"}, {"head", true},
                           {"node_address", "10.0.0.1"}, {"head_address", "10.0.0.1"},
                           {"env", {{"VLLM_API_KEY", "sk-secret"}}}};
  body["ranks"][0]["env"] = json::object();
  CHECK(DecodeError("start", body) ==
        "start.container.env: 'VLLM_API_KEY' may not be set by a request: the agent gives vLLM its own copy of the "
        "API key (runtime.api_key_file), which never travels over the network");
  body.erase("container");
  body["ranks"][0]["env"] = json{{"ld_preload", "/tmp/x.so"}};
  CHECK(DecodeError("start", body) ==
        "start.ranks[0].env: 'ld_preload' is not an environment variable name (expected [A-Z_][A-Z0-9_]*)");
  body["ranks"][0]["env"] = json{{"1X", "y"}};
  CHECK_FALSE(DecodeError("start", body).empty());
  body["ranks"][0]["env"] = json{{"NCCL_DEBUG", 1}};
  CHECK(DecodeError("start", body) == "start.ranks[0].env.NCCL_DEBUG: expected a string");
}

TEST_CASE("Replies are bounded by the frame size, not the request limits", "[messages]") {
  // A logs reply carries up to a frame of lines: more than 256 is fine.
  LogsReply logs;
  logs.lines.assign(1000, LogLine{"rank 0", 1, std::string(5000, 'x')});
  auto back = LogsReplyFromJson(ToJson(logs));
  REQUIRE(back.ok());
  CHECK(back->lines.size() == 1000);
}

TEST_CASE("A malformed reply names the reply and field", "[messages]") {
  json hello = ToJson(SampleHello());
  hello.erase("host");
  CHECK(HelloReplyFromJson(hello).status().message() == "hello.host: required field is missing");
  json facts = ToJson(NodeFacts{});
  facts["gpus"] = json::array({json{{"index", "0"}}});
  CHECK(NodeFactsFromJson(facts).status().message() == "facts.gpus[0].index: expected an integer");
  json status = json::parse(R"({"agent": {}, "deployment": "", "units": [], "gpus": []})");
  CHECK(StatusReplyFromJson(status).status().message() == "status.agent.agent_version: required field is missing");
  json negative = ToJson(NodeFacts{});
  negative["shm_bytes"] = -1;
  CHECK(NodeFactsFromJson(negative).status().message() == "facts.shm_bytes: expected a non-negative integer");
}
