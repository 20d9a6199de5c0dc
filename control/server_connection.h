// Internal to the control library: one accepted agent-protocol connection on
// the server side, which is also the Responder its handler answers through.
//
// Lifetime: the connection owns itself through shared_from_this() while an
// operation is pending, and the handler's Responder reference keeps it alive
// while a request is being answered. Requests are read one at a time: the next
// header is read once the final reply of the current request is queued.
// Everything runs on the io_context's thread (one thread runs it).
//
// Time and memory are bounded (ServerLimits): the handshake, the wait for a
// request, the rest of a frame, each write; replies queued for a peer that
// does not read them. Passing a bound closes the connection.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "control/channel.h"
#include "control/frame.h"

namespace cluster::control {

class ServerConnection final : public Responder, public std::enable_shared_from_this<ServerConnection> {
 public:
  // May throw (OpenSSL cannot create a session): the listener catches it.
  ServerConnection(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> context,
                   std::shared_ptr<const RequestHandler> handler, const ServerLimits& limits);

  // Starts the TLS handshake; a peer that does not complete it within
  // limits.handshake_timeout, or whose certificate does not chain to the
  // cluster CA, is disconnected without a reply.
  void Start();
  // The TLS handshake has succeeded (the peer is authenticated).
  bool authenticated() const { return authenticated_; }

  void Send(const nlohmann::json& body, bool more) override;
  void Fail(const Status& status) override;
  bool Closed() const override { return closed_; }
  const std::string& PeerName() const override { return peer_name_; }
  PeerRole Role() const override { return peer_role_; }
  // Ends the connection at once (also used by the listener to drop it).
  void Close();

 private:
  void ReadHeader();
  void ReadPayload(std::size_t length);
  void Dispatch();
  // Closes the connection unless the pending read finishes within `timeout`.
  void ExpireReadAfter(std::chrono::milliseconds timeout);
  // Queues one reply frame; `final` ends the current request and, unless the
  // connection is to close, starts reading the next one.
  void Reply(const nlohmann::json& reply, bool final);
  void WriteNext();
  void ShutDown();  // TLS close_notify, bounded in time, then Close()

  std::shared_ptr<boost::asio::ssl::context> context_;  // outlives stream_'s session
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
  boost::asio::steady_timer timer_;                     // handshake, reads and shutdown deadlines
  boost::asio::steady_timer write_timer_;               // the write in flight
  std::shared_ptr<const RequestHandler> handler_;
  ServerLimits limits_;
  frame::Header header_{};
  std::string payload_;
  std::deque<std::string> outbox_;                      // encoded frames; front() is being written
  std::size_t queued_bytes_ = 0;                        // in outbox_
  bool writing_ = false;
  bool answering_ = false;                              // a handler owes the final reply
  bool close_when_written_ = false;
  bool authenticated_ = false;
  bool closed_ = false;
  std::string peer_name_;
  PeerRole peer_role_ = PeerRole::kNone;
};

}  // namespace cluster::control
