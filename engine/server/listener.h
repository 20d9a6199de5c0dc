// Listener: accepts connections on one address and starts an HttpSession for
// each (the accept loop of Asio's HTTP server example). It remembers its
// sessions (weakly) so the server can close them all when it stops, and
// counts them: a connection beyond max_connections gets a 503 written at
// once and is closed, holding no descriptor and no session.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/server/http_session.h"

namespace engine::server {

class Listener {
 public:
  // Binds and listens on host:port (port 0: an ephemeral port). `host` is an
  // IP address, or a name whose first resolved address is used. Errors:
  // InvalidArgument for a host that is neither; Unavailable (address in
  // use, permission) naming the address.
  static StatusOr<std::unique_ptr<Listener>> Bind(boost::asio::io_context& io, const std::string& host,
                                                  std::uint16_t port, ApiHandler& handler, SessionOptions options,
                                                  std::size_t max_connections);

  // The bound address and port.
  const std::string& address() const { return address_; }
  std::uint16_t port() const { return port_; }
  // Starts the accept loop.
  void Start();
  // Stops accepting and closes every open session.
  void Stop();

 private:
  Listener(boost::asio::io_context& io, boost::asio::ip::tcp::acceptor acceptor, ApiHandler& handler,
           SessionOptions options, std::size_t max_connections);
  void Accept();
  // Answers 503 on a connection beyond the limit and closes it.
  void Refuse(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  ApiHandler& handler_;
  SessionOptions options_;
  std::size_t max_connections_;
  std::string address_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
  std::vector<std::weak_ptr<HttpSession>> sessions_;
};

}  // namespace engine::server
