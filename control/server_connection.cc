#include "control/server_connection.h"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "control/authorization.h"
#include "control/tls.h"

namespace cluster::control {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using nlohmann::json;

constexpr auto kShutdownTimeout = std::chrono::seconds(2);

}  // namespace

ServerConnection::ServerConnection(asio::ip::tcp::socket socket, std::shared_ptr<ssl::context> context,
                                   std::shared_ptr<const RequestHandler> handler, const ServerLimits& limits)
    : context_(std::move(context)),
      stream_(std::move(socket), *context_),
      timer_(stream_.get_executor()),
      write_timer_(stream_.get_executor()),
      handler_(std::move(handler)),
      limits_(limits) {}

void ServerConnection::Start() {
  error_code ignored;
  stream_.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
  auto self = shared_from_this();
  ExpireReadAfter(limits_.handshake_timeout);
  stream_.async_handshake(ssl::stream_base::server, [self](const error_code& ec) {
    self->timer_.cancel();
    if (ec || self->closed_) {
      self->Close();  // no certificate, another CA's, or not TLS: no reply
      return;
    }
    self->authenticated_ = true;
    self->peer_name_ = tls::PeerCommonName(self->stream_.native_handle());
    self->peer_role_ = tls::PeerCertificateRole(self->stream_.native_handle());
    self->ReadHeader();
  });
}

void ServerConnection::ExpireReadAfter(std::chrono::milliseconds timeout) {
  timer_.expires_after(timeout);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->Close();  // the peer took too long: the pending operation ends with an error
  });
}

void ServerConnection::ReadHeader() {
  if (closed_) return;
  auto self = shared_from_this();
  ExpireReadAfter(limits_.idle_timeout);
  asio::async_read(stream_, asio::buffer(header_), [self](const error_code& ec, std::size_t) {
    self->timer_.cancel();
    if (ec) {
      self->Close();  // the peer went away (EOF) or the stream failed
      return;
    }
    const std::uint32_t length = frame::PayloadLength(self->header_);
    if (length > kMaxFrameBytes) {
      // The payload is not read: say why and end the connection.
      self->close_when_written_ = true;
      self->Reply(frame::ErrorReply(InvalidArgumentError(frame::TooLargeMessage("request", length))), true);
      return;
    }
    self->ReadPayload(length);
  });
}

void ServerConnection::ReadPayload(std::size_t length) {
  payload_.assign(length, '\0');
  auto self = shared_from_this();
  ExpireReadAfter(limits_.read_timeout);
  asio::async_read(stream_, asio::buffer(payload_), [self](const error_code& ec, std::size_t) {
    self->timer_.cancel();
    if (ec) {
      self->Close();
      return;
    }
    self->Dispatch();
  });
}

void ServerConnection::Dispatch() {
  auto json = frame::ParseJson(payload_);
  payload_.clear();
  if (!json.ok()) {
    Reply(frame::ErrorReply(json.status()), true);
    return;
  }
  auto request = DecodeRequest(*json);
  if (!request.ok()) {
    Reply(frame::ErrorReply(request.status()), true);
    return;
  }
  if (Status allowed = Authorize(*request, peer_role_, peer_name_); !allowed.ok()) {
    Reply(frame::ErrorReply(allowed), true);
    return;
  }
  answering_ = true;
  try {
    (*handler_)(std::move(*request), shared_from_this());
  } catch (const std::exception& e) {  // a handler's bug must not end the server's io_context
    Fail(InternalError(std::string("the agent failed while handling the request: ") + e.what()));
  }
}

void ServerConnection::Send(const json& body, bool more) {
  if (closed_ || !answering_) return;
  Reply(frame::OkReply(body, more), !more);
}

void ServerConnection::Fail(const Status& status) {
  if (closed_ || !answering_) return;
  Reply(frame::ErrorReply(status), true);
}

void ServerConnection::Reply(const json& reply, bool final) {
  auto bytes = frame::Encode(reply, "reply");
  if (!bytes.ok()) {
    // Too large: the request ends with the reason instead.
    bytes = frame::Encode(frame::ErrorReply(ResourceExhaustedError(bytes.status().message())), "reply");
    final = true;
  }
  if (bytes.ok()) {
    queued_bytes_ += bytes->size();
    outbox_.push_back(std::move(*bytes));
  }
  if (queued_bytes_ > limits_.max_queued_reply_bytes) {
    Close();  // the peer does not read what it asked for
    return;
  }
  if (!writing_) WriteNext();
  if (final) {
    answering_ = false;
    if (!close_when_written_) ReadHeader();
  }
}

void ServerConnection::WriteNext() {
  if (closed_) return;
  if (outbox_.empty()) {
    writing_ = false;
    if (close_when_written_) ShutDown();
    return;
  }
  writing_ = true;
  auto self = shared_from_this();
  write_timer_.expires_after(limits_.write_timeout);
  write_timer_.async_wait([self](const error_code& ec) {
    if (!ec) self->Close();  // the peer has not taken the frame in time
  });
  asio::async_write(stream_, asio::buffer(outbox_.front()), [self](const error_code& ec, std::size_t) {
    self->write_timer_.cancel();
    if (ec) {
      self->Close();
      return;
    }
    self->queued_bytes_ -= self->outbox_.front().size();
    self->outbox_.pop_front();
    self->WriteNext();
  });
}

void ServerConnection::ShutDown() {
  auto self = shared_from_this();
  timer_.expires_after(kShutdownTimeout);
  timer_.async_wait([self](const error_code& ec) {
    if (!ec) self->Close();
  });
  stream_.async_shutdown([self](const error_code&) { self->Close(); });
}

void ServerConnection::Close() {
  if (closed_) return;
  closed_ = true;
  answering_ = false;
  timer_.cancel();  // outbox_ stays: a write in flight may still read its front()
  write_timer_.cancel();
  error_code ignored;
  stream_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
}

}  // namespace cluster::control
