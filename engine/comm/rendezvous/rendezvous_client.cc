#include "engine/comm/rendezvous/rendezvous_client.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/comm/rendezvous/phrases.h"

namespace engine {
namespace {

using net::Clock;
using wire::BodyReader;
using wire::BodyWriter;
using wire::FrameType;

constexpr std::chrono::milliseconds kRetryPause{200};
constexpr std::chrono::milliseconds kAttemptLimit{5000};
constexpr std::chrono::milliseconds kTick{100};
constexpr std::size_t kFrameOverhead = 64;

// Reads one frame from a blocking-in-spirit socket, waiting until `deadline`.
StatusOr<wire::Frame> ReadOneFrame(int fd, wire::FrameReader& reader, Clock::time_point deadline) {
  for (;;) {
    auto next = reader.Next();
    if (!next.ok()) return next.status();
    if (next->has_value()) return std::move(**next);
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, net::PollTimeoutMs(deadline, 1000));
    if (n < 0 && errno != EINTR) return cluster::UnavailableError(std::strerror(errno));
    if (n <= 0) {
      if (Clock::now() >= deadline) return cluster::DeadlineExceededError("no answer");
      continue;
    }
    char buffer[4096];
    const ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
    if (got == 0) return cluster::UnavailableError("the connection was closed");
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return cluster::UnavailableError(std::strerror(errno));
    }
    reader.Append(buffer, static_cast<std::size_t>(got));
  }
}

}  // namespace

RendezvousClient::RendezvousClient(const RendezvousClientOptions& options)
    : options_(options),
      wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      inbox_(static_cast<std::size_t>(std::max(options.world_size, 1))),
      left_(static_cast<std::size_t>(std::max(options.world_size, 1)), false) {}

std::string RendezvousClient::RankZero() const { return "rank 0 (the rendezvous at " + options_.address + ")"; }

StatusOr<std::unique_ptr<RendezvousClient>> RendezvousClient::Connect(const RendezvousClientOptions& options) {
  const std::string where = "rendezvous at " + options.address;
  if (options.world_size < 1 || options.world_size > wire::kMaxWorldSize || options.rank < 0 ||
      options.rank >= options.world_size) {
    return cluster::InvalidArgumentError(where + ": rank " + std::to_string(options.rank) +
                                         " is outside a world of " + std::to_string(options.world_size));
  }
  auto at = net::ParseHostPort(options.address);
  if (!at.ok()) return at.status().WithContext("rendezvous");
  std::unique_ptr<RendezvousClient> client(new RendezvousClient(options));
  if (!client->wake_.valid()) return cluster::InternalError("rendezvous: eventfd failed");

  const Clock::time_point deadline = Clock::now() + options.connect_timeout;
  std::string last_error;
  for (;;) {
    const Clock::time_point attempt_deadline = std::min(deadline, Clock::now() + kAttemptLimit);
    auto socket = net::ConnectTo(*at, options.local_address, attempt_deadline);
    if (socket.ok()) {
      CLUSTER_RETURN_IF_ERROR(client->Handshake(std::move(*socket)));
      return client;
    }
    if (socket.status().code() == cluster::StatusCode::kInvalidArgument) {
      return socket.status().WithContext(where);
    }
    last_error = socket.status().message();
    if (Clock::now() + kRetryPause >= deadline) break;
    std::this_thread::sleep_for(kRetryPause);
  }
  return cluster::DeadlineExceededError(where + ": rank 0 did not answer within " +
                                        phrases::Seconds(options.connect_timeout) + " (last attempt: " +
                                        last_error + "); is rank 0 running, and is " + options.address +
                                        " its cluster address?");
}

// Presents this rank and starts the liveness thread.
Status RendezvousClient::Handshake(net::Socket socket) {
  const std::string where = "rendezvous at " + options_.address;
  const std::string hello = BodyWriter()
                                .U32(wire::kProtocolVersion)
                                .U32(static_cast<std::uint32_t>(options_.world_size))
                                .U32(static_cast<std::uint32_t>(options_.rank))
                                .Bytes(options_.token)
                                .body();
  const Clock::time_point deadline = Clock::now() + options_.peer_timeout;
  Status sent = net::SendAll(socket.fd(), wire::EncodeFrame(FrameType::kHello, hello), deadline);
  wire::FrameReader reader(options_.max_message_bytes + kFrameOverhead);
  StatusOr<wire::Frame> answer = sent.ok() ? ReadOneFrame(socket.fd(), reader, deadline) : StatusOr<wire::Frame>(sent);
  if (!answer.ok()) {
    return cluster::UnavailableError(where + ": the handshake of rank " + std::to_string(options_.rank) +
                                     " failed: " + answer.status().message());
  }
  if (answer->type == FrameType::kRefused) {
    std::string reason;
    BodyReader(answer->body).Bytes(&reason);
    return cluster::PermissionDeniedError(where + " refused rank " + std::to_string(options_.rank) + ": " + reason);
  }
  if (answer->type != FrameType::kWelcome) {
    return cluster::UnavailableError(where + ": expected a welcome, got '" +
                                     std::string(wire::FrameTypeName(answer->type)) + "'");
  }
  local_address_ = net::LocalAddress(socket.fd());
  socket_ = std::move(socket);
  last_sent_ = Clock::now();
  // Bytes that came after the welcome are the thread's to read.
  thread_ = std::thread([this, reader = std::move(reader)]() mutable { Run(std::move(reader)); });
  return Status::Ok();
}

RendezvousClient::~RendezvousClient() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    changed_.notify_all();
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.fd(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  if (!socket_.valid() || !failure().ok()) return;
  // Goodbye, then read until the server closes (it does on a goodbye), at
  // most a second: closing with unread pings would reset the connection,
  // and a reset can destroy the goodbye before the server reads it.
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(1000);
  if (!net::SendAll(socket_.fd(), wire::EncodeFrame(FrameType::kGoodbye), deadline).ok()) return;
  ::shutdown(socket_.fd(), SHUT_WR);
  char buffer[4096];
  while (Clock::now() < deadline) {
    pollfd p{socket_.fd(), POLLIN, 0};
    if (::poll(&p, 1, net::PollTimeoutMs(deadline, 100)) <= 0) continue;
    const ssize_t got = ::recv(socket_.fd(), buffer, sizeof(buffer), 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) break;
  }
}

void RendezvousClient::Run(wire::FrameReader reader) {
  Clock::time_point last_heard = Clock::now();
  bool came_with_welcome = reader.buffered() > 0;
  char buffer[64 * 1024];
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_ || !failure_.ok()) return;
    }
    pollfd fds[2] = {{socket_.fd(), POLLIN, 0}, {wake_.fd(), POLLIN, 0}};
    ::poll(fds, 2, came_with_welcome ? 0 : static_cast<int>(kTick.count()));
    if (fds[0].revents != 0 || came_with_welcome) {
      came_with_welcome = false;
      // Frames are handled as they complete (as what came with the welcome).
      bool ended = false;
      std::string why;
      for (;;) {
        auto next = reader.Next();
        if (!next.ok()) {
          Fail(cluster::UnavailableError(RankZero() + " sent a malformed message: " + next.status().message()));
          return;
        }
        if (next->has_value()) {
          Dispatch(**next);
          continue;
        }
        const ssize_t n = ::recv(socket_.fd(), buffer, sizeof(buffer), 0);
        if (n > 0) {
          reader.Append(buffer, static_cast<std::size_t>(n));
          last_heard = Clock::now();
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        ended = true;
        why = n == 0 || errno == ECONNRESET ? "closed the connection: the process exited or was killed"
                                            : std::string("lost the connection (") + std::strerror(errno) +
                                                  "): its host went down, or the network to it failed";
        break;
      }
      if (ended) {
        std::unique_lock<std::mutex> lock(mutex_);
        if (left_[0] || stopping_) {
          changed_.notify_all();
          return;  // the world shut down, or we are leaving
        }
        lock.unlock();
        Fail(cluster::UnavailableError(RankZero() + " " + why));
        return;
      }
    }
    const Clock::time_point now = Clock::now();
    if (now - last_heard > options_.peer_timeout) {
      Fail(cluster::DeadlineExceededError(RankZero() + " sent nothing for " + phrases::Seconds(options_.peer_timeout) +
                                          ": it hung, or the network to its host failed"));
      return;
    }
    bool ping = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ping = now - last_sent_ >= options_.heartbeat_interval;
    }
    // A sender busy with a long message is proof of life enough.
    if (ping && write_mutex_.try_lock()) {
      std::lock_guard<std::mutex> lock(write_mutex_, std::adopt_lock);
      Status s = net::SendAll(socket_.fd(), wire::EncodeFrame(FrameType::kPing), now + options_.peer_timeout);
      if (!s.ok()) {
        Fail(cluster::UnavailableError(RankZero() + " does not take our heartbeat: " + s.message()));
        return;
      }
      std::lock_guard<std::mutex> state(mutex_);
      last_sent_ = Clock::now();
    }
  }
}

void RendezvousClient::Dispatch(const wire::Frame& frame) {
  BodyReader body(frame.body);
  switch (frame.type) {
    case FrameType::kPing: return;
    case FrameType::kDeliver: {
      std::uint32_t from = 0;
      std::string payload;
      if (!body.U32(&from) || !body.Bytes(&payload) || from >= inbox_.size()) break;
      std::unique_lock<std::mutex> lock(mutex_);
      inbox_bytes_ += payload.size();
      if (inbox_bytes_ > std::max(4 * options_.max_message_bytes, std::size_t{64} << 20)) {
        lock.unlock();
        Fail(cluster::ResourceExhaustedError("rank " + std::to_string(options_.rank) + " does not read its messages (" +
                                             std::to_string(inbox_bytes_) + " bytes unread)"));
        return;
      }
      inbox_[from].push_back(std::move(payload));
      changed_.notify_all();
      return;
    }
    case FrameType::kLeft: {
      std::uint32_t rank = 0;
      if (!body.U32(&rank) || rank >= left_.size()) break;
      std::lock_guard<std::mutex> lock(mutex_);
      left_[rank] = true;
      changed_.notify_all();
      return;
    }
    case FrameType::kFailure: {
      std::uint32_t rank = 0, code = 0;
      std::string reason;
      if (!body.U32(&rank) || !body.U32(&code) || !body.Bytes(&reason)) break;
      const auto status_code = code == static_cast<std::uint32_t>(cluster::StatusCode::kDeadlineExceeded)
                                   ? cluster::StatusCode::kDeadlineExceeded
                                   : cluster::StatusCode::kUnavailable;
      Fail(Status(status_code, reason));
      return;
    }
    case FrameType::kJoined:
    case FrameType::kJoinFailed:
    case FrameType::kDone:
    case FrameType::kValue:
    case FrameType::kStoreFailed:
    case FrameType::kBarrierDone: {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!awaiting_reply_ || reply_) break;
      reply_ = frame;
      changed_.notify_all();
      return;
    }
    default: break;
  }
  Fail(cluster::UnavailableError(RankZero() + " sent an unexpected or malformed '" +
                                 std::string(wire::FrameTypeName(frame.type)) + "' message"));
}

void RendezvousClient::Fail(const Status& failure) {
  std::function<void(const Status&)> handler;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failure_.ok() || stopping_) return;
    failure_ = failure;
    handler = std::move(failure_handler_);
    failure_handler_ = nullptr;
    changed_.notify_all();
  }
  if (handler) handler(failure);
}

Status RendezvousClient::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

void RendezvousClient::SetFailureHandler(std::function<void(const Status&)> handler) {
  Status failed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure_.ok()) {
      failure_handler_ = std::move(handler);
      return;
    }
    failed = failure_;
  }
  handler(failed);
}

Status RendezvousClient::SendFrame(const std::string& frame) {
  Status sent;
  {
    std::lock_guard<std::mutex> lock(write_mutex_);
    if (Status failed = failure(); !failed.ok()) return failed;
    sent = net::SendAll(socket_.fd(), frame, Clock::now() + options_.peer_timeout);
    std::lock_guard<std::mutex> state(mutex_);
    last_sent_ = Clock::now();
  }
  if (sent.ok()) return sent;
  // SendAll's message is strerror's: a reset or a broken pipe is a process gone.
  const bool gone = sent.message() == std::strerror(ECONNRESET) || sent.message() == std::strerror(EPIPE);
  const Status lost = sent.code() == cluster::StatusCode::kDeadlineExceeded
                          ? cluster::DeadlineExceededError(RankZero() + " took nothing for " +
                                                           phrases::Seconds(options_.peer_timeout) +
                                                           ": it hung, or the network to its host failed")
                      : gone ? cluster::UnavailableError(RankZero() + " closed the connection: the process exited or was killed")
                             : cluster::UnavailableError(RankZero() + " lost the connection (" + sent.message() +
                                                         "): its host went down, or the network to it failed");
  Fail(lost);
  return failure();
}

StatusOr<wire::Frame> RendezvousClient::Request(FrameType type, const std::string& body,
                                                std::chrono::milliseconds limit, bool fail_if_a_rank_left) {
  std::lock_guard<std::mutex> one_at_a_time(request_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failure_.ok()) return failure_;
    awaiting_reply_ = true;
    reply_.reset();
  }
  Status sent = SendFrame(wire::EncodeFrame(type, body));
  std::unique_lock<std::mutex> lock(mutex_);
  const auto a_rank_left = [&] { return std::find(left_.begin(), left_.end(), true) != left_.end(); };
  if (sent.ok()) {
    changed_.wait_until(lock, Clock::now() + limit, [&] {
      return reply_.has_value() || !failure_.ok() || stopping_ || (fail_if_a_rank_left && a_rank_left());
    });
  }
  awaiting_reply_ = false;
  if (!failure_.ok()) return failure_;
  if (!sent.ok()) return sent;
  if (reply_) {
    wire::Frame reply = std::move(*reply_);
    reply_.reset();
    return reply;
  }
  if (fail_if_a_rank_left && a_rank_left()) {
    const int rank = static_cast<int>(std::find(left_.begin(), left_.end(), true) - left_.begin());
    return cluster::UnavailableError("rank " + std::to_string(rank) + " left the world");
  }
  return cluster::DeadlineExceededError(RankZero() + " did not answer a " + std::string(wire::FrameTypeName(type)) +
                                        " within " + phrases::Seconds(limit));
}

Status RendezvousClient::Join() {
  // The server answers by its own join deadline; allow for clock skew
  // between our start and its start.
  const auto limit = options_.connect_timeout + options_.peer_timeout;
  auto reply = Request(FrameType::kJoin, "", limit, /*fail_if_a_rank_left=*/true);
  if (!reply.ok()) return reply.status();
  if (reply->type == FrameType::kJoined) return Status::Ok();
  std::string reason;
  BodyReader(reply->body).Bytes(&reason);
  return cluster::DeadlineExceededError("rendezvous at " + options_.address + ": " + reason);
}

Status RendezvousClient::Set(std::string_view key, std::string_view value) {
  auto reply = Request(FrameType::kSet, BodyWriter().Bytes(key).Bytes(value).body(), options_.peer_timeout * 2, false);
  if (!reply.ok()) return reply.status();
  if (reply->type == FrameType::kDone) return Status::Ok();
  std::string reason;
  BodyReader(reply->body).Bytes(&reason);
  return cluster::ResourceExhaustedError("rendezvous store: " + reason);
}

StatusOr<std::string> RendezvousClient::Get(std::string_view key, std::chrono::milliseconds timeout) {
  const std::string body = BodyWriter().Bytes(key).U32(static_cast<std::uint32_t>(timeout.count())).body();
  auto reply = Request(FrameType::kGet, body, timeout + options_.peer_timeout, false);
  if (!reply.ok()) return reply.status();
  std::string text;
  BodyReader(reply->body).Bytes(&text);
  if (reply->type == FrameType::kValue) return text;
  return cluster::DeadlineExceededError("rendezvous store: " + text);
}

Status RendezvousClient::Wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  BodyWriter body;
  body.U32(static_cast<std::uint32_t>(timeout.count())).U32(static_cast<std::uint32_t>(keys.size()));
  for (const std::string& key : keys) body.Bytes(key);
  auto reply = Request(FrameType::kWait, body.body(), timeout + options_.peer_timeout, false);
  if (!reply.ok()) return reply.status();
  if (reply->type == FrameType::kDone) return Status::Ok();
  std::string reason;
  BodyReader(reply->body).Bytes(&reason);
  return cluster::DeadlineExceededError("rendezvous store: " + reason);
}

Status RendezvousClient::CheckPeer(const char* what, int peer) const {
  if (peer < 0 || peer >= options_.world_size || peer == options_.rank) {
    return cluster::InvalidArgumentError(std::string(what) + ": rank " + std::to_string(peer) +
                                         " is not a peer of rank " + std::to_string(options_.rank) + " in a world of " +
                                         std::to_string(options_.world_size));
  }
  return Status::Ok();
}

Status RendezvousClient::Send(int to, std::string_view message) {
  CLUSTER_RETURN_IF_ERROR(CheckPeer("send", to));
  if (message.size() > options_.max_message_bytes) {
    return cluster::InvalidArgumentError("send: a message of " + std::to_string(message.size()) +
                                         " bytes, over the limit of " + std::to_string(options_.max_message_bytes));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failure_.ok()) return failure_;
    if (left_[static_cast<std::size_t>(to)] || left_[0]) {
      const int gone = left_[static_cast<std::size_t>(to)] ? to : 0;
      return cluster::UnavailableError("send: rank " + std::to_string(gone) + " left the world");
    }
  }
  return SendFrame(wire::EncodeFrame(FrameType::kSend, BodyWriter().U32(static_cast<std::uint32_t>(to)).Bytes(message).body()));
}

StatusOr<std::string> RendezvousClient::ReceiveUntil(int from, std::optional<Clock::time_point> deadline) {
  CLUSTER_RETURN_IF_ERROR(CheckPeer("receive", from));
  auto& inbox = inbox_[static_cast<std::size_t>(from)];
  std::unique_lock<std::mutex> lock(mutex_);
  const auto ready = [&] {
    return !failure_.ok() || !inbox.empty() || left_[static_cast<std::size_t>(from)] || left_[0] || stopping_;
  };
  if (deadline) {
    changed_.wait_until(lock, *deadline, ready);
  } else {
    changed_.wait(lock, ready);
  }
  if (!failure_.ok()) return failure_;
  if (!inbox.empty()) {
    std::string message = std::move(inbox.front());
    inbox.pop_front();
    inbox_bytes_ -= message.size();
    return message;
  }
  if (left_[static_cast<std::size_t>(from)]) {
    return cluster::UnavailableError("receive: rank " + std::to_string(from) +
                                     (from == 0 ? " left: the world shut down" : " left the world"));
  }
  if (left_[0]) return cluster::UnavailableError("receive: rank 0 left: the world shut down");
  if (stopping_) return cluster::CancelledError("receive: this rank is leaving the world");
  return cluster::DeadlineExceededError("receive: no message from rank " + std::to_string(from) + " within the timeout");
}

StatusOr<std::string> RendezvousClient::Receive(int from) { return ReceiveUntil(from, std::nullopt); }

StatusOr<std::string> RendezvousClient::Receive(int from, std::chrono::milliseconds timeout) {
  return ReceiveUntil(from, Clock::now() + timeout);
}

Status RendezvousClient::Broadcast(std::string& message, int root) {
  if (root < 0 || root >= options_.world_size) {
    return cluster::InvalidArgumentError("broadcast: root " + std::to_string(root) + " is outside a world of " +
                                         std::to_string(options_.world_size));
  }
  if (root != options_.rank) {
    CLUSTER_ASSIGN_OR_RETURN(message, Receive(root));
    return Status::Ok();
  }
  if (message.size() > options_.max_message_bytes) {
    return cluster::InvalidArgumentError("broadcast: a message of " + std::to_string(message.size()) +
                                         " bytes, over the limit of " + std::to_string(options_.max_message_bytes));
  }
  if (Status failed = failure(); !failed.ok()) return failed;
  return SendFrame(wire::EncodeFrame(FrameType::kBroadcast, BodyWriter().Bytes(message).body()));
}

Status RendezvousClient::Barrier() {
  // A barrier waits as long as the slowest rank; liveness, not a timeout,
  // ends it when a rank is gone.
  auto reply = Request(FrameType::kBarrier, "", std::chrono::hours(24 * 365), /*fail_if_a_rank_left=*/true);
  if (!reply.ok()) return reply.status().WithContext("barrier");
  return Status::Ok();
}

}  // namespace engine
