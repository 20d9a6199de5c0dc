#include "engine/server/http_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/resource.h>

#include <csignal>
#include <exception>
#include <limits>

#include "common/logging.h"
#include "engine/server/api_handler.h"
#include "engine/server/listener.h"
#include "engine/server/throughput_log.h"

namespace engine::server {

namespace net = boost::asio;

class HttpServer::Impl {
 public:
  Impl(ServerOptions options, const ServedModel& model, SequenceService& service, std::optional<ApiKey> api_key,
       std::function<ModelTiming()> model_timing)
      : options_(std::move(options)),
        service_(service),
        signals_(io_),
        stats_timer_(io_),
        handler_(model, service, std::move(api_key), options_.limits,
                 [this](std::function<void()> task) { net::post(io_, std::move(task)); }, std::move(model_timing),
                 RequestStats(options_.clock, options_.log)) {}

  Status Bind() {
    rlimit files{};
    std::size_t open_files = std::numeric_limits<std::size_t>::max();
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) open_files = files.rlim_cur;
    const std::size_t max_connections = EffectiveConnectionLimit(options_.max_connections, open_files);
    if (max_connections < options_.max_connections) {
      LOG_WARNING("at most {} open connections (not {}): the open-file limit is {} (ulimit -n)", max_connections,
                  options_.max_connections, open_files);
    }
    auto listener = Listener::Bind(io_, options_.host, options_.port, handler_, options_.session, max_connections);
    if (!listener.ok()) return listener.status();
    listener_ = std::move(*listener);
    if (options_.handle_signals) {
      // Registered now, not in Run(), so a signal that comes as soon as the
      // caller announces the port is already a clean stop.
      boost::system::error_code ec;
      signals_.add(SIGINT, ec);
      if (!ec) signals_.add(SIGTERM, ec);
      if (ec) return cluster::InternalError("cannot handle SIGINT/SIGTERM: " + ec.message());
      signals_.async_wait([this](boost::system::error_code wait_ec, int signal) {
        if (wait_ec) return;
        LOG_INFO("signal {}: stopping", signal);
        DoStop();
      });
    }
    return Status::Ok();
  }

  std::string address() const { return listener_->address(); }
  std::uint16_t port() const { return listener_->port(); }

  void Run() {
    listener_->Start();
    if (options_.log && options_.stats_interval.count() > 0) {
      throughput_.emplace(service_.Metrics());
      last_stats_ = std::chrono::steady_clock::now();
      ScheduleStats();
    }
    // Handlers catch what they can; anything escaping one (a bug) is logged
    // and the loop goes on, so one bad request cannot take the server down.
    while (true) {
      try {
        io_.run();
        break;
      } catch (const std::exception& e) {
        LOG_ERROR("internal error in the HTTP server: {}", e.what());
      }
    }
  }

  void Stop() {
    net::post(io_, [this] { DoStop(); });
  }

 private:
  void DoStop() {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    stats_timer_.cancel();
    listener_->Stop();
  }

  // The throughput line every stats_interval, until DoStop cancels the timer.
  void ScheduleStats() {
    stats_timer_.expires_after(options_.stats_interval);
    stats_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || stopped_) return;
      const auto now = std::chrono::steady_clock::now();
      if (auto line = throughput_->Next(service_.Metrics(), SecondsBetween(last_stats_, now))) options_.log(*line);
      last_stats_ = now;
      ScheduleStats();
    });
  }

  ServerOptions options_;
  SequenceService& service_;
  net::io_context io_{1};
  net::signal_set signals_;
  net::steady_timer stats_timer_;
  std::optional<ThroughputLog> throughput_;  // I/O thread
  std::chrono::steady_clock::time_point last_stats_;
  ApiHandler handler_;
  std::unique_ptr<Listener> listener_;
  bool stopped_ = false;
};

std::size_t EffectiveConnectionLimit(std::size_t configured, std::size_t open_files_limit) {
  const std::size_t room = open_files_limit > kReservedDescriptors + 1 ? open_files_limit - kReservedDescriptors : 1;
  return std::max<std::size_t>(1, std::min(configured, room));
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(ServerOptions options, const ServedModel& model,
                                                         SequenceService& service, std::optional<ApiKey> api_key,
                                                         std::function<ModelTiming()> model_timing) {
  try {
    auto impl = std::make_unique<Impl>(std::move(options), model, service, std::move(api_key),
                                       std::move(model_timing));
    CLUSTER_RETURN_IF_ERROR(impl->Bind());
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  } catch (const std::exception& e) {
    return cluster::InternalError(std::string("starting the HTTP server: ") + e.what());
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
std::string HttpServer::address() const { return impl_->address(); }
std::uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::Run() { impl_->Run(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace engine::server
