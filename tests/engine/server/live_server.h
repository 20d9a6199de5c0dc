// The HTTP server over the real Scheduler and the demo model (models/demo),
// in this process, on 127.0.0.1 with an ephemeral port. Tests skip (exit 4)
// when the demo model is missing.
#pragma once

#include <memory>
#include <stdexcept>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/comm/local_comm.h"
#include "engine/model/load_model.h"
#include "engine/scheduler/scheduler.h"
#include "engine/tools/command_support.h"
#include "skip.h"
#include "test_server.h"

namespace engine::server::testing {

class LiveServer {
 public:
  // `kv_blocks` blocks of 16 positions; `server_options` from TestServerOptions.
  explicit LiveServer(std::int64_t kv_blocks = 1024, SchedulerOptions options = {},
                      const ServerOptions& server_options = TestServerOptions()) {
    if (!std::filesystem::exists(DemoModelDir() / "model.safetensors")) {
      cluster::testing::SkipTest("the demo model is missing at " + DemoModelDir().string());
    }
    auto loaded = LoadModel(DemoModelDir(), backend_, comm_);
    if (!loaded.ok()) throw std::runtime_error(loaded.status().ToString());
    loaded_ = std::make_unique<LoadedModel>(std::move(*loaded));
    timed_ = std::make_unique<TimedModel>(*loaded_->model);
    auto cache = KvCache::Allocate(backend_, timed_->CacheShape(kv_blocks, 16));
    if (!cache.ok()) throw std::runtime_error(cache.status().ToString());
    cache_ = std::make_unique<KvCache>(std::move(*cache));
    const Tokenizer* tokenizer = demo_.tokenizer.get();
    auto scheduler = Scheduler::Create(*timed_, *cache_, options, loaded_->eos_token_ids, [tokenizer] {
      return std::make_unique<tools::TokenizerTextDecoder>(*tokenizer);
    });
    if (!scheduler.ok()) throw std::runtime_error(scheduler.status().ToString());
    scheduler_ = std::move(*scheduler);
    service_ = std::make_unique<SchedulerService>(*scheduler_);
    demo_.model.generation = loaded_->generation;
    server_ = std::make_unique<TestServer>(server_options, demo_.model, *service_, std::nullopt,
                                           [this] { return timed_->timing(); });
  }

  ~LiveServer() {
    server_->Stop();
    scheduler_->Shutdown();  // no update may outlive the server's io_context
    server_.reset();
  }

  std::uint16_t port() const { return server_->port(); }
  Scheduler& scheduler() { return *scheduler_; }
  const Tokenizer& tokenizer() const { return *demo_.tokenizer; }

 private:
  CpuBackend backend_;
  LocalComm comm_;
  DemoServedModel demo_;
  std::unique_ptr<LoadedModel> loaded_;
  std::unique_ptr<TimedModel> timed_;
  std::unique_ptr<KvCache> cache_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<SchedulerService> service_;
  std::unique_ptr<TestServer> server_;
};

}  // namespace engine::server::testing
