#include "engine/server/listener.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>

#include "common/logging.h"

namespace engine::server {

namespace net = boost::asio;
using net::ip::tcp;

StatusOr<std::unique_ptr<Listener>> Listener::Bind(net::io_context& io, const std::string& host, std::uint16_t port,
                                                   ApiHandler& handler, SessionOptions options,
                                                   std::size_t max_connections) {
  const std::string where = host + ":" + std::to_string(port);
  boost::system::error_code ec;
  net::ip::address address = net::ip::make_address(host, ec);
  if (ec) {  // a name such as "localhost": its first address
    tcp::resolver resolver(io);
    const auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return cluster::InvalidArgumentError("--host " + host + ": neither an IP address nor a name that resolves (" +
                                           ec.message() + "); give e.g. 127.0.0.1 or 0.0.0.0");
    }
    address = results.begin()->endpoint().address();
  }
  const tcp::endpoint endpoint(address, port);
  tcp::acceptor acceptor(io);
  auto fail = [&](const char* step) {
    return cluster::UnavailableError("cannot " + std::string(step) + " " + where + ": " + ec.message());
  };
  if (acceptor.open(endpoint.protocol(), ec); ec) return fail("open a socket for");
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) return fail("configure");
  if (acceptor.bind(endpoint, ec); ec) return fail("bind");
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) return fail("listen on");
  auto listener =
      std::unique_ptr<Listener>(new Listener(io, std::move(acceptor), handler, options, max_connections));
  const tcp::endpoint bound = listener->acceptor_.local_endpoint(ec);
  if (ec) return fail("read the bound port of");
  listener->address_ = bound.address().to_string();
  listener->port_ = bound.port();
  return listener;
}

Listener::Listener(net::io_context& io, tcp::acceptor acceptor, ApiHandler& handler, SessionOptions options,
                   std::size_t max_connections)
    : io_(io),
      acceptor_(std::move(acceptor)),
      retry_timer_(io),
      handler_(handler),
      options_(options),
      max_connections_(max_connections) {}

void Listener::Start() { Accept(); }

void Listener::Accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (stopped_ || ec == net::error::operation_aborted) return;
    if (ec) {
      // E.g. out of file descriptors: wait a little instead of spinning.
      LOG_WARNING("accept failed: {}", ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](boost::system::error_code wec) {
        if (!wec && !stopped_) Accept();
      });
      return;
    }
    std::erase_if(sessions_, [](const std::weak_ptr<HttpSession>& s) { return s.expired(); });
    if (sessions_.size() >= max_connections_) {
      Refuse(std::move(socket));
      return Accept();
    }
    auto session = std::make_shared<HttpSession>(std::move(socket), handler_, options_);
    sessions_.push_back(session);
    session->Start();
    Accept();
  });
}

void Listener::Refuse(tcp::socket socket) {
  handler_.RecordSessionReply(503);
  const ApiError error{503,
                       "The server has " + std::to_string(max_connections_) +
                           " open connections, its limit; retry in a second.",
                       "server_error",
                       std::nullopt,
                       "too_many_connections",
                       1,
                       std::nullopt};
  const std::string bytes = ResponseBytes(ErrorReply(error), /*keep_alive=*/false);
  // A fresh socket's send buffer takes these few hundred bytes at once: no
  // wait, no state kept. What the client sent already is read and dropped
  // so that closing sends FIN, not a reset that could lose the answer.
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  net::write(socket, net::buffer(bytes), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  char drain[4096];
  socket.read_some(net::buffer(drain), ignored);
  socket.close(ignored);
}

void Listener::Stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
  for (const std::weak_ptr<HttpSession>& weak : sessions_) {
    if (std::shared_ptr<HttpSession> session = weak.lock()) session->Close();
  }
  sessions_.clear();
}

}  // namespace engine::server
