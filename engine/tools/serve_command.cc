// infer-engine serve: the OpenAI-compatible HTTP API over the
// continuous-batching scheduler (docs/server.md).
//
//   infer-engine serve --model DIR [--host 127.0.0.1] [--port 8000] [--api-key-file F]
//       [--served-model-name NAME] [--max-batch-tokens N] [--max-running-sequences N]
//       [--max-queued-requests N] [--kv-cache-blocks N] [--max-context N]
//       [--no-prefix-caching] [--max-body-bytes N] [-v]
//       [--device cpu] [--dtype float32] [--world-size N --rank R --tensor-parallel T
//        --pipeline-parallel P --rendezvous ADDRESS:PORT]
//
// The world flags are what clusterd passes to every rank it starts. Until
// tensor and pipeline parallelism land, a world of more than one rank, the
// cuda device and dtypes other than float32 are refused with a message that
// says so (exit 2), so that `clusterctl up` reports it as the rank's failure.
//
// Binds flags and wires the parts: model folder -> model (timed) + KV cache
// -> Scheduler -> HttpServer. Once listening it prints one line to stdout,
//   infer-engine: serving 'demo' on http://127.0.0.1:8000 (...)
// (with --port 0, the port chosen), and serves until SIGINT/SIGTERM; then it
// cancels what is running and exits 0.
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "common/logging.h"
#include "engine/backends/cpu/cpu_backend.h"
#include "engine/chat/chat_template.h"
#include "engine/comm/local_comm.h"
#include "engine/model/load_model.h"
#include "engine/scheduler/scheduler.h"
#include "engine/server/http_server.h"
#include "engine/server/sequence_service.h"
#include "engine/server/timed_model.h"
#include "engine/tools/command_support.h"
#include "engine/tools/commands.h"

namespace engine::tools {
namespace {

struct ServeFlags {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string api_key_file;
  std::string served_model_name;
  std::int64_t max_batch_tokens = 512;
  std::int64_t max_running_sequences = 64;
  std::int64_t max_queued_requests = 256;
  std::int64_t kv_cache_blocks = 0;  // 0: auto
  std::int64_t block_size = 16;
  std::int64_t max_context = 0;
  bool no_prefix_caching = false;
  std::int64_t max_body_bytes = 4 << 20;
  int verbosity = 0;
  // The rank's place in the cluster (set by clusterd).
  std::string device = "cpu";
  std::string dtype = "float32";
  int world_size = 1;
  int rank = 0;
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
  std::string rendezvous;
};

// "" when this build can serve the world the flags describe, else why not.
std::string WhyWorldUnsupported(const ServeFlags& f) {
  if (f.world_size < 1 || f.rank < 0 || f.rank >= f.world_size)
    return "--rank must be in [0, --world-size)";
  if (f.tensor_parallel * f.pipeline_parallel != f.world_size)
    return "--world-size must equal --tensor-parallel x --pipeline-parallel";
  if (f.world_size > 1)
    return "this engine serves a world of one rank; got " + std::to_string(f.world_size) + " (tensor_parallel " +
           std::to_string(f.tensor_parallel) + " x pipeline_parallel " + std::to_string(f.pipeline_parallel) +
           "). Tensor and pipeline parallelism across ranks are not available yet: set both to 1, or use "
           "runtime.kind: vllm-docker";
  if (f.device != "cpu")
    return "device '" + f.device + "' is not available in this engine build; set runtime.engine.device: cpu";
  if (f.dtype != "float32" && f.dtype != "auto")
    return "the CPU engine computes in float32; got --dtype " + f.dtype + ": set runtime.dtype: float32";
  return "";
}

// KV cache memory used when --kv-cache-blocks is not given: enough blocks
// for every running sequence at full context, within this budget, and never
// fewer than one full context.
constexpr std::int64_t kAutoKvCacheBytes = std::int64_t{1} << 30;

std::int64_t AutoKvBlocks(const ServeFlags& f, const LanguageModel& model, std::int64_t context) {
  const KvCacheShape one = model.CacheShape(1, f.block_size);
  const std::int64_t block_bytes = 2 * one.num_layers * one.block_size * one.num_kv_heads * one.head_dim * 4;
  const std::int64_t per_sequence = (context + f.block_size - 1) / f.block_size;
  const std::int64_t wanted = per_sequence * f.max_running_sequences;
  const std::int64_t affordable = std::max<std::int64_t>(1, kAutoKvCacheBytes / std::max<std::int64_t>(1, block_bytes));
  return std::max(per_sequence, std::min(wanted, affordable));
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
  if (f.block_size < 1) return UsageError("serve: --block-size must be >= 1");
  if (f.max_body_bytes < 1) return UsageError("serve: --max-body-bytes must be >= 1");
  if (std::string why = WhyWorldUnsupported(f); !why.empty()) return UsageError("serve: " + why);
  const std::filesystem::path dir = f.model;

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

  CpuBackend backend;
  LocalComm comm;
  auto loaded = LoadModel(dir, backend, comm);
  if (!loaded.ok()) return Failure(loaded.status());
  server::TimedModel model(*loaded->model);
  std::int64_t context = model.config().max_position_embeddings;
  if (f.max_context > 0) context = std::min(context, f.max_context);
  const std::int64_t blocks = f.kv_cache_blocks > 0 ? f.kv_cache_blocks : AutoKvBlocks(f, model, context);
  auto cache = KvCache::Allocate(backend, model.CacheShape(blocks, f.block_size));
  if (!cache.ok()) return Failure(cache.status());

  SchedulerOptions options;
  options.max_batch_tokens = f.max_batch_tokens;
  options.max_running_sequences = f.max_running_sequences;
  options.max_queued_requests = f.max_queued_requests;
  options.enable_prefix_caching = !f.no_prefix_caching;
  options.max_context_tokens = f.max_context;
  const Tokenizer* tok = tokenizer->get();
  auto scheduler = Scheduler::Create(model, *cache, options, loaded->eos_token_ids,
                                     [tok] { return std::make_unique<TokenizerTextDecoder>(*tok); });
  if (!scheduler.ok()) return UsageError("serve: " + scheduler.status().message());
  server::SchedulerService service(**scheduler);

  server::ServedModel served;
  served.name = f.served_model_name.empty() ? FolderName(dir) : f.served_model_name;
  served.created = static_cast<std::int64_t>(std::time(nullptr));
  served.tokenizer = tok;
  served.chat_template = std::move(chat_template);
  served.generation = loaded->generation;
  served.vocab_size = model.config().vocab_size;

  server::ServerOptions server_options;
  server_options.host = f.host;
  server_options.port = static_cast<std::uint16_t>(f.port);
  server_options.limits.max_body_bytes = static_cast<std::size_t>(f.max_body_bytes);
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
              static_cast<long long>(service.context_limit()), static_cast<long long>(blocks),
              static_cast<long long>(f.block_size), api_key ? "API key required" : "no API key");
  std::fflush(stdout);
  (*http)->Run();
  // Updates must stop before the server (and its io_context) goes away.
  (*scheduler)->Shutdown();
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
  app->add_option("--max-batch-tokens", f.max_batch_tokens, "Tokens per scheduler step")->capture_default_str();
  app->add_option("--max-running-sequences", f.max_running_sequences, "Sequences per step")->capture_default_str();
  app->add_option("--max-queued-requests", f.max_queued_requests, "Waiting sequences before 429")
      ->capture_default_str();
  app->add_option("--kv-cache-blocks", f.kv_cache_blocks,
                  "KV cache blocks (default: enough for every running sequence at full context, within 1 GiB)");
  app->add_option("--block-size", f.block_size, "Positions per KV block")->capture_default_str();
  app->add_option("--max-context", f.max_context, "Longest prompt + max_tokens (default: the model's)");
  app->add_flag("--no-prefix-caching", f.no_prefix_caching, "Do not share KV blocks between common prefixes");
  app->add_option("--max-body-bytes", f.max_body_bytes, "Largest request body (413 beyond)")->capture_default_str();
  app->add_flag("-v,--verbose", f.verbosity, "More logging (-v info, -vv debug)");
  const char* world = "Cluster (set by clusterd)";
  app->add_option("--device", f.device, "cpu (the only device of this build)")->group(world)->capture_default_str();
  app->add_option("--dtype", f.dtype, "Compute dtype: float32 on cpu")->group(world)->capture_default_str();
  app->add_option("--world-size", f.world_size, "Ranks in the cluster")->group(world)->capture_default_str();
  app->add_option("--rank", f.rank, "This process's world rank")->group(world)->capture_default_str();
  app->add_option("--tensor-parallel", f.tensor_parallel, "Ranks per pipeline stage")->group(world);
  app->add_option("--pipeline-parallel", f.pipeline_parallel, "Pipeline stages")->group(world);
  app->add_option("--rendezvous", f.rendezvous, "ADDRESS:PORT of rank 0 for collectives")->group(world);
  return {app, [flags] { return RunServe(*flags); }};
}

}  // namespace engine::tools
