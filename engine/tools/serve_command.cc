// infer-engine serve: the OpenAI-compatible HTTP API over the
// continuous-batching scheduler (docs/server.md).
//
//   infer-engine serve --model DIR [--host 127.0.0.1] [--port 8000] [--api-key-file F]
//       [--served-model-name NAME] [--max-batch-tokens N] [--max-running-sequences N]
//       [--max-queued-requests N] [--kv-cache-blocks N] [--max-context N]
//       [--gpu-memory-fraction F] [--no-prefix-caching] [--max-body-bytes N] [--log-stats-interval S] [-v]
//       [--device cpu|cuda[:N]] [--dtype auto|float16|bfloat16|float32]
//       [--world-size N --rank R --tensor-parallel T --pipeline-parallel P --rendezvous ADDRESS:PORT
//        [--collectives auto|nccl|gloo|gloo-through-host] [--join-timeout S]]
//
// The world flags are what clusterd passes to every rank it starts (the
// job's token in INFER_ENGINE_RENDEZVOUS_TOKEN). Rank 0 serves the HTTP API
// and schedules; every other rank runs the steps rank 0 sends and serves
// nothing to clients (docs/parallelism.md). A rank that dies or hangs ends
// every other within seconds, with an error naming it.
//
// Binds flags and wires the parts: model folder -> engine (engine_setup.h:
// device, world, model shard, workspace, KV cache) -> rank 0: model (over the
// world, timed) -> Scheduler -> HttpServer. At start it logs the device and
// where its memory goes to stderr; once listening it prints one line to stdout,
//   infer-engine: serving 'demo' on http://127.0.0.1:8000 (...)
// (with --port 0, the port chosen), and serves until SIGINT/SIGTERM; then it
// cancels what is running and exits 0. While serving, rank 0 writes to stderr
// (its log, as `clusterctl logs` shows it) one line per finished request and,
// every --log-stats-interval seconds while busy, the throughput line, each
// stamped with the UTC time (docs/server.md, "Logs").
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "common/logging.h"
#include "engine/chat/chat_template.h"
#include "engine/scheduler/scheduler.h"
#include "engine/scheduler/world_model.h"
#include "engine/server/http_server.h"
#include "engine/server/sequence_service.h"
#include "engine/server/timed_model.h"
#include "engine/tools/command_support.h"
#include "engine/tools/commands.h"
#include "engine/tools/engine_setup.h"

namespace engine::tools {
namespace {

struct ServeFlags {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string api_key_file;
  std::string served_model_name;
  EngineOptions engine;  // device, dtype, memory, step limits
  std::int64_t max_queued_requests = 256;
  bool no_prefix_caching = false;
  std::int64_t max_body_bytes = 4 << 20;
  double log_stats_interval_s = 10;
  int verbosity = 0;
};

// "2025-01-02T03:04:05.678Z <line>\n" to stderr in one write, so lines stay
// whole beside the other threads' (common/logging.h does the same).
void LogToStderr(const std::string& line) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char stamp[32];
  const std::size_t n = std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  const std::string text = std::string(stamp, n) + "." + std::to_string(1000 + millis).substr(1) + "Z " + line + "\n";
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t written = ::write(STDERR_FILENO, text.data() + off, text.size() - off);
    if (written <= 0) return;
    off += static_cast<std::size_t>(written);
  }
}

// "models/demo/" -> "demo".
std::string FolderName(const std::filesystem::path& dir) {
  std::filesystem::path p = std::filesystem::absolute(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

int RunServe(const ServeFlags& f) {
  cluster::SetLogLevel(cluster::LogLevelFromVerbosity(f.verbosity));
  if (f.port < 0 || f.port > 65535) return UsageError("serve: --port must be in [0, 65535]");
  if (f.max_body_bytes < 1) return UsageError("serve: --max-body-bytes must be >= 1");
  const std::filesystem::path dir = f.model;
  if (f.engine.world.rank != 0) return RunFollowerRank(dir, f.engine);

  auto tokenizer = Tokenizer::FromFile(dir);
  if (!tokenizer.ok()) return Failure(tokenizer.status());
  std::optional<ChatTemplate> chat_template;
  if (auto t = ChatTemplate::FromModelDir(dir); t.ok()) {
    chat_template = std::move(*t);
  } else {
    LOG_WARNING("{}; /v1/chat/completions will answer 400", t.status().message());
  }
  std::optional<server::ApiKey> api_key;
  if (!f.api_key_file.empty()) {
    auto key = server::ApiKey::FromFile(f.api_key_file);
    if (!key.ok()) return Failure(key.status());
    api_key = std::move(*key);
  }

  std::unique_ptr<Engine> engine;
  if (int code = StartEngine(dir, f.engine, engine); code != kExitOk) return code;
  std::fprintf(stderr, "infer-engine: %s\n", engine->Summary().c_str());
  std::optional<WorldModel> world_model;
  server::TimedModel model(RankZeroModel(*engine, world_model));
  KvCache& cache = *engine->cache;

  SchedulerOptions options;
  options.max_batch_tokens = f.engine.max_batch_tokens;
  options.max_running_sequences = f.engine.max_running_sequences;
  options.max_queued_requests = f.max_queued_requests;
  options.enable_prefix_caching = !f.no_prefix_caching;
  options.max_context_tokens = f.engine.max_context;
  const Tokenizer* tok = tokenizer->get();
  auto scheduler = Scheduler::Create(model, cache, options, engine->loaded.eos_token_ids,
                                     [tok] { return std::make_unique<TokenizerTextDecoder>(*tok); });
  if (!scheduler.ok()) return UsageError("serve: " + scheduler.status().message());
  server::SchedulerService service(**scheduler);

  server::ServedModel served;
  served.name = f.served_model_name.empty() ? FolderName(dir) : f.served_model_name;
  served.created = static_cast<std::int64_t>(std::time(nullptr));
  served.tokenizer = tok;
  served.chat_template = std::move(chat_template);
  served.generation = engine->loaded.generation;
  served.vocab_size = model.config().vocab_size;

  server::ServerOptions server_options;
  server_options.host = f.host;
  server_options.port = static_cast<std::uint16_t>(f.port);
  server_options.limits.max_body_bytes = static_cast<std::size_t>(f.max_body_bytes);
  server_options.log = LogToStderr;
  server_options.stats_interval =
      std::chrono::milliseconds(static_cast<std::int64_t>(f.log_stats_interval_s * 1000));
  auto http = server::HttpServer::Create(server_options, served, service, std::move(api_key),
                                         [&model] { return model.timing(); });
  if (!http.ok()) {
    return http.status().code() == cluster::StatusCode::kInvalidArgument ? UsageError(http.status().message())
                                                                         : Failure(http.status());
  }

  std::signal(SIGPIPE, SIG_IGN);  // a client that leaves must not end the process
  std::string address = (*http)->address();
  if (address.find(':') != std::string::npos) address = "[" + address + "]";  // IPv6 in a URL
  std::printf("infer-engine: serving '%s' on http://%s:%u (context %lld tokens, %lld KV blocks of %lld, %s)\n",
              served.name.c_str(), address.c_str(), static_cast<unsigned>((*http)->port()),
              static_cast<long long>(service.context_limit()), static_cast<long long>(cache.shape().num_blocks),
              static_cast<long long>(cache.shape().block_size), api_key ? "API key required" : "no API key");
  std::fflush(stdout);
  if (engine->world) {
    server::HttpServer* server = http->get();
    engine->world->SetFailureHandler([server](const Status&) { server->Stop(); });
  }
  (*http)->Run();
  // Updates must stop before the server (and its io_context) goes away.
  (*scheduler)->Shutdown();
  if (engine->world) {
    if (Status failed = engine->world->failure(); !failed.ok()) return Failure(failed);
    if (Status s = world_model->Stop(); !s.ok()) return Failure(s);
  }
  LOG_INFO("stopped");
  return kExitOk;
}

}  // namespace

Subcommand AddServeCommand(CLI::App& parent) {
  auto flags = std::make_shared<ServeFlags>();
  ServeFlags& f = *flags;
  CLI::App* app = parent.add_subcommand("serve", "Serve the model over an OpenAI-compatible HTTP API");
  app->add_option("--model", f.model, "Model folder (config.json, safetensors, tokenizer.json)")->required();
  app->add_option("--host", f.host, "IP address to listen on")->capture_default_str();
  app->add_option("--port", f.port, "TCP port (0: any free port, printed when listening)")->capture_default_str();
  app->add_option("--api-key-file", f.api_key_file,
                  "File holding the API key clients must send as 'Authorization: Bearer KEY'");
  app->add_option("--served-model-name", f.served_model_name, "Model name in the API (default: the folder's name)");
  app->add_option("--max-batch-tokens", f.engine.max_batch_tokens, "Tokens per scheduler step")
      ->capture_default_str();
  app->add_option("--max-running-sequences", f.engine.max_running_sequences, "Sequences per step")
      ->capture_default_str();
  app->add_option("--max-queued-requests", f.max_queued_requests, "Waiting sequences before 429")
      ->capture_default_str();
  const char* world = "Cluster (set by clusterd)";
  AddEngineFlags(app, f.engine, world);
  AddWorldFlags(app, f.engine.world, world);
  app->add_option("--collectives", f.engine.world.collectives,
                  "auto (cpu: gloo, cuda: nccl), nccl, gloo, or gloo-through-host (ranks sharing one GPU)")
      ->group(world)
      ->capture_default_str();
  app->add_flag("--no-prefix-caching", f.no_prefix_caching, "Do not share KV blocks between common prefixes");
  app->add_option("--max-body-bytes", f.max_body_bytes, "Largest request body (413 beyond)")->capture_default_str();
  app->add_option("--log-stats-interval", f.log_stats_interval_s,
                  "Seconds between throughput lines on stderr while busy (0: none)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app->add_flag("-v,--verbose", f.verbosity, "More logging (-v info, -vv debug)");
  return {app, [flags] { return RunServe(*flags); }};
}

}  // namespace engine::tools
