// The agent protocol's transport: frames (4-byte big-endian length + JSON,
// at most kMaxFrameBytes) over TLS 1.3 with mutual certificate checks against
// the cluster CA (docs/agent-protocol.md).
//
// ControlClient is synchronous and used by one thread; every operation has a
// deadline. ControlServer runs on the caller's io_context: it accepts only
// peers whose certificate chains to the CA (a connection without one, or with
// one from another CA, fails the handshake and is closed without a reply),
// reads one request frame at a time, decodes it (messages.h), checks that the
// peer's certificate may make it (authorization.h), and hands it to the
// handler on the io_context's thread. Connections, handshakes, reads and
// writes are bounded by ServerLimits.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "control/messages.h"
#include "control/pki.h"

namespace cluster::control {

// A reply frame as the client reads it: ok with a body, or an error Status
// rebuilt from the error code and message.
struct ReplyFrame {
  nlohmann::json body;
  bool more = false;  // further frames follow for this request (logs --follow)
};

class ControlClient {
 public:
  // Connects and completes the TLS handshake. Unavailable (naming
  // ADDRESS:PORT and the cause: refused, timed out, certificate rejected)
  // when it cannot.
  static StatusOr<std::unique_ptr<ControlClient>> Connect(const std::string& address, int port,
                                                          const Credentials& credentials,
                                                          std::chrono::milliseconds timeout);
  ~ControlClient();

  // Sends `request` and reads its first reply frame.
  StatusOr<ReplyFrame> Call(const Request& request, std::chrono::milliseconds timeout);
  // Reads the next reply frame of a streaming request.
  StatusOr<ReplyFrame> Next(std::chrono::milliseconds timeout);

  // The local address of this connection ("127.0.10.3").
  std::string LocalAddress() const;

 private:
  struct Impl;
  explicit ControlClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What the server's handler uses to answer one request. Send() may be called
// several times with more = true (streaming), then once with more = false;
// it is safe to call from the io_context's thread only. A Responder keeps its
// connection alive until the final reply is sent or the peer goes away
// (Closed() becomes true; further sends are dropped).
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void Send(const nlohmann::json& body, bool more) = 0;
  virtual void Fail(const Status& status) = 0;
  virtual bool Closed() const = 0;
  // The peer's certificate common name ("clusterctl operator", "h1").
  virtual const std::string& PeerName() const = 0;
  // What the peer's certificate may do (authorization.h checked it already).
  virtual PeerRole Role() const = 0;
};

// What one agent lets its peers hold (docs/agent-protocol.md, "Limits").
// Before its TLS handshake a peer is anonymous: its connection can be
// answered only by closing it.
struct ServerLimits {
  // Open connections. One more: the oldest connection still in its
  // handshake is dropped for it, or, when every one is authenticated, the
  // new one is closed at once.
  std::size_t max_connections = 64;
  // Connections still in their TLS handshake: one more drops the oldest
  // (raw TCP connections that never speak TLS cannot keep peers out).
  std::size_t max_handshakes = 16;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{300'000};  // an authenticated peer, between requests
  std::chrono::milliseconds read_timeout{30'000};   // the rest of a frame once its header came
  std::chrono::milliseconds write_timeout{60'000};  // one reply frame
  // Replies queued for a peer that does not read them (logs --follow).
  std::size_t max_queued_reply_bytes = std::size_t{8} << 20;
};

using RequestHandler = std::function<void(Request request, std::shared_ptr<Responder> responder)>;

class ControlServer {
 public:
  // Binds ADDRESS:PORT (the host's cluster address, or loopback) and starts
  // accepting. Unavailable when the address cannot be bound (names it).
  static StatusOr<std::unique_ptr<ControlServer>> Listen(boost::asio::io_context& io, const std::string& address,
                                                         int port, const Credentials& credentials,
                                                         RequestHandler handler, ServerLimits limits = {});
  ~ControlServer();
  int port() const;  // the bound port (useful with port 0)
  void Close();      // stops accepting; open connections end with the io_context

 private:
  struct Impl;
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cluster::control
