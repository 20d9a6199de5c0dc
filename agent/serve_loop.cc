#include "agent/serve_loop.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>

#include "agent/agent_service.h"
#include "agent/agent_state.h"
#include "common/build_info.h"
#include "common/logging.h"

namespace cluster::agent {

int ServeAgent(const std::filesystem::path& dir, const std::filesystem::path& self, Launchers launchers) {
  SetLogLevel(LogLevel::kInfo);
  auto config = LoadConfig(dir);
  auto credentials = config.ok() ? LoadCredentials(dir) : StatusOr<control::Credentials>(config.status());
  if (!credentials.ok()) {
    LOG_ERROR("cannot serve: {}", credentials.status().message());
    return 1;
  }
  for (const std::string& left : CleanUpLeftovers(dir, config->cluster))
    LOG_WARNING("stopped {}, left by an earlier agent", left);

  boost::asio::io_context io;
  AgentService service(io, *config, *credentials, dir, self, std::move(launchers));
  auto server = control::ControlServer::Listen(
      io, config->listen_address, config->port, *credentials,
      [&service](control::Request request, std::shared_ptr<control::Responder> responder) {
        service.Handle(std::move(request), std::move(responder));
      });
  if (!server.ok()) {
    LOG_ERROR("cannot serve: {}", server.status().message());
    return 1;
  }
  auto fingerprint = Fingerprint(self, *config, *credentials);
  if (!fingerprint.ok()) {
    LOG_ERROR("cannot serve: {}", fingerprint.status().message());
    return 1;
  }
  if (Status s = WritePidFile(dir, {static_cast<long>(::getpid()), *fingerprint}); !s.ok()) {
    LOG_ERROR("cannot serve: {}", s.message());
    return 1;
  }
  LOG_INFO("clusterd {} of cluster {} serving host {} on {}:{}", GetBuildInfo().version, config->cluster, config->host,
           config->listen_address, (*server)->port());
  service.Resume();

  auto stop = [&](const std::string& why) {
    LOG_INFO("stopping: {}", why);
    service.StopEverything(why);
    (*server)->Close();
    io.stop();
  };
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (!ec) stop(signal == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  // After the reply to `shutdown` has had time to leave.
  boost::asio::steady_timer linger(io);
  service.OnShutdown([&] {
    linger.expires_after(std::chrono::milliseconds(300));
    linger.async_wait([&](const boost::system::error_code&) { stop("shutdown requested"); });
  });
  io.run();
  // The pid file names a live agent only while it serves.
  auto pid = ReadPidFile(dir);
  if (pid.ok() && pid->pid == ::getpid()) {
    std::error_code ec;
    std::filesystem::remove(PidFilePath(dir), ec);
  }
  LOG_INFO("stopped");
  return 0;
}

}  // namespace cluster::agent
