// HttpServer: the OpenAI-compatible HTTP API over a SequenceService (the
// scheduler). One io_context, run by the thread that calls Run(); a
// signal_set turns SIGINT/SIGTERM into a stop (as Asio's HTTP server example
// does). Stopping closes the listening socket, cancels every pending
// generation and closes every connection; Run() then returns.
//
//   HttpServer::Create(options, model, service, api_key, timing) -> server
//   server->port()   // the bound port (options.port 0: an ephemeral one)
//   server->Run();   // until a signal or Stop()
//
// REQUIRES: the SequenceService delivers no update after the server is
// destroyed - shut the scheduler down (Scheduler::Shutdown) after Run()
// returns and before destroying the server, so late updates land in a
// still-existing io_context and are dropped with it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/server/api_key.h"
#include "engine/server/http_session.h"
#include "engine/server/request_limits.h"
#include "engine/server/request_stats.h"
#include "engine/server/sequence_service.h"
#include "engine/server/served_model.h"
#include "engine/server/timed_model.h"

namespace engine::server {

// The limits, all in one place (docs/server.md, "Limits"): what one request
// may hold (limits), how long a connection may take (session), and how many
// connections may be open at once.
struct ServerOptions {
  std::string host = "127.0.0.1";  // an IP address (0.0.0.0: every interface) or a name
  std::uint16_t port = 8000;       // 0: an ephemeral port (see port())
  RequestLimits limits;
  SessionOptions session;
  // Open connections; one more is answered 503 and closed at once. Lowered
  // to what RLIMIT_NOFILE leaves (EffectiveConnectionLimit), so the server
  // never runs out of descriptors (which would leave clients hanging).
  std::size_t max_connections = 512;
  bool handle_signals = true;  // stop on SIGINT/SIGTERM
  // The server's log (docs/server.md, "Logs"): one line per finished
  // generation request and, every stats_interval while busy, the throughput
  // line (throughput_log.h). Null: no such lines. Called on the I/O thread.
  LogSink log;
  std::chrono::milliseconds stats_interval{10000};  // 0: no throughput line
  SteadyClock clock;  // request timings; null: steady_clock::now
};

// `configured`, lowered so that the connections and the server's own
// descriptors (kReservedDescriptors: files, the listening socket, one
// being refused) fit in `open_files_limit` (RLIMIT_NOFILE's soft limit).
inline constexpr std::size_t kReservedDescriptors = 64;
std::size_t EffectiveConnectionLimit(std::size_t configured, std::size_t open_files_limit);

class HttpServer {
 public:
  // Binds the listening socket: InvalidArgument for a bad host, Unavailable
  // naming the address if it cannot bind.
  // `model` and `service` must outlive the server; `model_timing` may be empty.
  static StatusOr<std::unique_ptr<HttpServer>> Create(ServerOptions options, const ServedModel& model,
                                                      SequenceService& service, std::optional<ApiKey> api_key,
                                                      std::function<ModelTiming()> model_timing);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound address ("127.0.0.1") and port.
  std::string address() const;
  std::uint16_t port() const;
  // Serves on the calling thread until a signal or Stop().
  void Run();
  // Asks Run() to stop; thread-safe.
  void Stop();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace engine::server
