// An HttpServer on 127.0.0.1 (ephemeral port) over a given SequenceService,
// running on its own thread for the length of a test; and the demo model's
// tokenizer and chat template as the ServedModel.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "engine/server/http_server.h"

namespace engine::server::testing {

inline std::filesystem::path DemoModelDir() { return std::filesystem::path(CLUSTER_SOURCE_DIR) / "models/demo"; }

// The demo model's tokenizer and template; generation defaults empty (greedy).
struct DemoServedModel {
  std::unique_ptr<Tokenizer> tokenizer;
  ServedModel model;

  explicit DemoServedModel(std::optional<ChatTemplate> chat_template = std::nullopt) {
    auto loaded = Tokenizer::FromFile(DemoModelDir());
    if (!loaded.ok()) throw std::runtime_error(loaded.status().ToString());
    tokenizer = std::move(*loaded);
    model.name = "demo";
    model.created = 1700000000;
    model.tokenizer = tokenizer.get();
    if (chat_template) {
      model.chat_template = std::move(chat_template);
    } else {
      auto t = ChatTemplate::FromModelDir(DemoModelDir());
      if (!t.ok()) throw std::runtime_error(t.status().ToString());
      model.chat_template = std::move(*t);
    }
    model.vocab_size = 2048;
  }
};

// The options of a test server: 127.0.0.1, an ephemeral port, no signals.
inline ServerOptions TestServerOptions(RequestLimits limits = {}) {
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.limits = limits;
  options.handle_signals = false;
  return options;
}

class TestServer {
 public:
  TestServer(const ServedModel& model, SequenceService& service, std::optional<ApiKey> key = std::nullopt,
             RequestLimits limits = {}, std::function<ModelTiming()> timing = nullptr)
      : TestServer(TestServerOptions(limits), model, service, std::move(key), std::move(timing)) {}
  // With other timeouts or connection limits (`options` from TestServerOptions).
  TestServer(const ServerOptions& options, const ServedModel& model, SequenceService& service,
             std::optional<ApiKey> key = std::nullopt, std::function<ModelTiming()> timing = nullptr) {
    auto server = HttpServer::Create(options, model, service, std::move(key), std::move(timing));
    if (!server.ok()) throw std::runtime_error(server.status().ToString());
    server_ = std::move(*server);
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~TestServer() { Stop(); }
  // Stops the server and joins its thread. Idempotent.
  void Stop() {
    if (!thread_.joinable()) return;
    server_->Stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_->port(); }

 private:
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

}  // namespace engine::server::testing
