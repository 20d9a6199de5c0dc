// ControlServer: the listening socket. Each accepted connection becomes a
// ServerConnection (server_connection.h), within ServerLimits' counts.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <vector>

#include "control/channel.h"
#include "control/server_connection.h"
#include "control/tls.h"

namespace cluster::control {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;

// After a failed accept (out of file descriptors...), wait before the next
// one rather than spin.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(200);

// Owns the acceptor; shared with its pending accept so that the server object
// may go away while the io_context still holds that operation.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& io, std::shared_ptr<ssl::context> context, std::shared_ptr<const RequestHandler> handler,
           const ServerLimits& limits)
      : acceptor_(io), retry_(io), context_(std::move(context)), handler_(std::move(handler)), limits_(limits) {}

  Status Bind(const tcp::endpoint& endpoint, const std::string& where) {
    error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return UnavailableError("cannot listen on " + where + ": " + tls::Describe(ec, nullptr));
    port_ = acceptor_.local_endpoint(ec).port();
    return Status::Ok();
  }

  void Accept() {
    auto self = shared_from_this();
    acceptor_.async_accept([self](const error_code& ec, tcp::socket socket) {
      if (!self->acceptor_.is_open()) return;  // closed
      if (ec) {
        self->retry_.expires_after(kAcceptRetryDelay);
        self->retry_.async_wait([self](const error_code& wait_error) {
          if (!wait_error && self->acceptor_.is_open()) self->Accept();
        });
        return;
      }
      if (self->MakeRoom()) {
        try {
          auto connection =
              std::make_shared<ServerConnection>(std::move(socket), self->context_, self->handler_, self->limits_);
          connection->Start();
          self->connections_.push_back(connection);
        } catch (const std::exception&) {
          // OpenSSL could not create a session for this peer: the socket closes.
        }
      }
      self->Accept();
    });
  }

  void Close() {
    error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
  }

  // Whether a new connection may be started: drops the oldest connection
  // still in its handshake when handshakes or connections are at their
  // limit; false when every connection is authenticated and the limit is
  // reached (the new socket then closes without an answer).
  bool MakeRoom() {
    std::erase_if(connections_, [](const std::weak_ptr<ServerConnection>& c) {
      auto live = c.lock();
      return !live || live->Closed();
    });
    std::size_t handshaking = 0;
    for (const auto& c : connections_) handshaking += c.lock()->authenticated() ? 0 : 1;
    if (handshaking >= limits_.max_handshakes || connections_.size() >= limits_.max_connections) {
      auto oldest = std::find_if(connections_.begin(), connections_.end(),
                                 [](const std::weak_ptr<ServerConnection>& c) { return !c.lock()->authenticated(); });
      if (oldest == connections_.end()) return false;
      oldest->lock()->Close();
      connections_.erase(oldest);
    }
    return true;
  }

  int port() const { return port_; }

 private:
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::shared_ptr<ssl::context> context_;
  std::shared_ptr<const RequestHandler> handler_;
  ServerLimits limits_;
  std::vector<std::weak_ptr<ServerConnection>> connections_;  // in accept order
  int port_ = 0;
};

}  // namespace

struct ControlServer::Impl {
  asio::io_context& io;
  std::shared_ptr<Listener> listener;
};

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() { Close(); }

StatusOr<std::unique_ptr<ControlServer>> ControlServer::Listen(asio::io_context& io, const std::string& address,
                                                               int port, const Credentials& credentials,
                                                               RequestHandler handler, ServerLimits limits) {
  const std::string where = (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" +
                            std::to_string(port);
  if (port < 0 || port > 65535) return InvalidArgumentError("cannot listen on " + where + ": port out of range");
  error_code parse_error;
  const auto ip = asio::ip::make_address(address, parse_error);
  if (parse_error) return InvalidArgumentError("cannot listen on " + where + ": '" + address + "' is not an IP address");
  CLUSTER_ASSIGN_OR_RETURN(auto context, tls::MakeContext(credentials, tls::Role::kServer));
  auto listener = std::make_shared<Listener>(io, std::shared_ptr<ssl::context>(std::move(context)),
                                             std::make_shared<const RequestHandler>(std::move(handler)), limits);
  CLUSTER_RETURN_IF_ERROR(listener->Bind(tcp::endpoint(ip, static_cast<unsigned short>(port)), where));
  listener->Accept();
  return std::unique_ptr<ControlServer>(new ControlServer(std::make_unique<Impl>(Impl{io, std::move(listener)})));
}

int ControlServer::port() const { return impl_->listener->port(); }

void ControlServer::Close() {
  // The acceptor belongs to the io_context's thread: closed there (at once
  // when called from it).
  asio::dispatch(impl_->io, [listener = impl_->listener] { listener->Close(); });
}

}  // namespace cluster::control
