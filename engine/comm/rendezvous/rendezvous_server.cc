#include "engine/comm/rendezvous/rendezvous_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "common/logging.h"
#include "engine/comm/rendezvous/socket.h"
#include "engine/comm/rendezvous/token.h"
#include "engine/comm/rendezvous/wire.h"
#include "engine/comm/rendezvous/phrases.h"

namespace engine {
namespace {

using net::Clock;
using wire::BodyReader;
using wire::BodyWriter;
using wire::FrameType;

constexpr std::size_t kMaxHelloBody = 4096;
constexpr std::size_t kMaxKeyBytes = 1024;
constexpr std::chrono::milliseconds kMaxStoreWait{10 * 60 * 1000};
constexpr std::chrono::milliseconds kTick{50};
constexpr std::chrono::milliseconds kFarewellTime{1000};

// "fd00:0::1" -> "fd00::1"; nullopt when `text` is not a numeric IP address.
std::optional<std::string> CanonicalIp(const std::string& text) {
  in6_addr v6{};
  in_addr v4{};
  char out[INET6_ADDRSTRLEN] = {};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return std::string(::inet_ntop(AF_INET, &v4, out, sizeof(out)));
  if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) return std::string(::inet_ntop(AF_INET6, &v6, out, sizeof(out)));
  return std::nullopt;
}

struct Connection {
  net::Socket socket;
  std::string ip;  // the peer's numeric address
  wire::FrameReader reader{kMaxHelloBody};
  std::string outbox;
  std::size_t outbox_sent = 0;
  int rank = -1;  // -1 until admitted
  Clock::time_point last_heard;
  Clock::time_point deadline;  // handshake, or the end of a refusal's linger
  bool refusing = false;       // send the refusal, then close
  bool write_shut = false;
  bool join_asked = false;
  bool closed = false;

  std::string Who() const { return "rank " + std::to_string(rank) + " (" + ip + ")"; }
  std::size_t queued() const { return outbox.size() - outbox_sent; }
};

struct StoreWait {
  Connection* connection;
  std::vector<std::string> keys;
  bool want_value;
  Clock::time_point deadline;
  std::chrono::milliseconds timeout;
};

}  // namespace

class RendezvousServer::Loop {
 public:
  Loop(const RendezvousServerOptions& options, net::Socket listener, std::vector<std::string> allowed,
       std::string own_ip)
      : options_(options),
        listener_(std::move(listener)),
        wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
        allowed_(std::move(allowed)),
        own_ip_(std::move(own_ip)),
        members_(static_cast<std::size_t>(options.world_size), nullptr),
        arrived_(static_cast<std::size_t>(options.world_size), false),
        at_barrier_(static_cast<std::size_t>(options.world_size), false),
        join_deadline_(Clock::now() + options.join_timeout),
        max_queued_(std::max<std::size_t>(4 * options.max_message_bytes, std::size_t{64} << 20)) {}

  bool ok() const { return wake_.valid(); }

  void Stop() {
    stopping_ = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_.fd(), &one, sizeof(one));
  }

  void Run() {
    Clock::time_point next_ping = Clock::now();
    while (!stopping_) {
      PollOnce(kTick);
      const Clock::time_point now = Clock::now();
      if (now >= next_ping) {
        for (Connection* m : members_)
          if (m != nullptr) Queue(*m, FrameType::kPing);
        next_ping = now + options_.heartbeat_interval;
      }
      CheckDeadlines(now);
      FlushAll();
      Sweep();
    }
    Farewell();
  }

 private:
  // One poll(2) round: accepts, reads and writes what is ready.
  void PollOnce(std::chrono::milliseconds timeout) {
    std::vector<pollfd> fds;
    fds.push_back({wake_.fd(), POLLIN, 0});
    fds.push_back({listener_.fd(), POLLIN, 0});
    for (const auto& c : connections_) {
      short events = POLLIN;
      if (c->queued() > 0) events |= POLLOUT;
      fds.push_back({c->socket.fd(), events, 0});
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    if (n <= 0) return;
    if (fds[0].revents != 0) {
      std::uint64_t count = 0;
      [[maybe_unused]] ssize_t r = ::read(wake_.fd(), &count, sizeof(count));
    }
    // Connections accepted below are polled from the next round on.
    const std::size_t polled = connections_.size();
    for (std::size_t i = 0; i < polled; ++i) {
      Connection& c = *connections_[i];
      const short revents = fds[i + 2].revents;
      if (c.closed || revents == 0) continue;
      if (revents & (POLLIN | POLLHUP | POLLERR)) ReadFrom(c);
      if (!c.closed && (revents & POLLOUT)) Flush(c);
    }
    if (fds[1].revents & POLLIN) Accept();
  }

  void Accept() {
    for (;;) {
      sockaddr_storage address{};
      socklen_t length = sizeof(address);
      const int fd = ::accept4(listener_.fd(), reinterpret_cast<sockaddr*>(&address), &length,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
          LOG_WARNING("rendezvous: accept: {}", std::strerror(errno));
        return;
      }
      auto c = std::make_unique<Connection>();
      c->socket = net::Socket(fd);
      c->ip = net::AddressText(reinterpret_cast<sockaddr*>(&address));
      const auto pending = std::count_if(connections_.begin(), connections_.end(),
                                         [](const auto& x) { return x->rank < 0 && !x->closed; });
      if (pending >= options_.max_pending_connections) {
        LOG_WARNING("rendezvous: refused a connection from {}: {} connections are already waiting to present "
                    "themselves (the limit)",
                    c->ip, pending);
        continue;  // closes it
      }
      c->last_heard = Clock::now();
      c->deadline = c->last_heard + options_.handshake_timeout;
      if (!Allowed(c->ip)) Refuse(*c, "its address " + c->ip + " is not in the allow-list of the rendezvous");
      connections_.push_back(std::move(c));
    }
  }

  bool Allowed(const std::string& ip) const {
    if (allowed_.empty() || ip == own_ip_) return true;
    return std::find(allowed_.begin(), allowed_.end(), ip) != allowed_.end();
  }

  // Sends the reason, then closes once it is out (or at the deadline).
  void Refuse(Connection& c, const std::string& reason, int claimed_rank = -1) {
    const std::string who = claimed_rank >= 0 ? "rank " + std::to_string(claimed_rank) : "a connection";
    LOG_WARNING("rendezvous: refused {} from {}: {}", who, c.ip, reason);
    Queue(c, FrameType::kRefused, BodyWriter().Bytes(reason).body());
    c.refusing = true;
    c.deadline = Clock::now() + options_.handshake_timeout;
  }

  // Reads and handles what a connection sent: at most 1 MiB a round, so
  // that one busy peer cannot starve the others, and frames are taken out
  // as they complete, so that the buffer stays within one frame.
  void ReadFrom(Connection& c) {
    char buffer[64 * 1024];
    for (int chunk = 0; chunk < 16 && !c.closed; ++chunk) {
      const ssize_t n = ::recv(c.socket.fd(), buffer, sizeof(buffer), 0);
      if (n > 0) {
        c.last_heard = Clock::now();
        if (!c.refusing) {
          c.reader.Append(buffer, static_cast<std::size_t>(n));
          ParseFrames(c);
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      // A killed process's kernel closes its connections, with a reset
      // when data to it was still unread.
      const std::string why = n == 0 || errno == ECONNRESET
                                  ? "closed its connection to the rendezvous: the process exited or was killed"
                                  : std::string("lost its connection to the rendezvous (") + std::strerror(errno) +
                                        "): its host went down, or the network to it failed";
      ConnectionEnded(c, why);
      return;
    }
  }

  void ParseFrames(Connection& c) {
    while (!c.closed && !c.refusing) {
      auto next = c.reader.Next();
      if (!next.ok()) {
        ProtocolError(c, next.status().message());
        return;
      }
      if (!next->has_value()) return;
      Handle(c, **next);
    }
  }

  void Handle(Connection& c, const wire::Frame& frame) {
    if (c.rank < 0) {
      if (frame.type != FrameType::kHello) {
        Refuse(c, "the first message must be hello, not " + std::string(wire::FrameTypeName(frame.type)));
        return;
      }
      HandleHello(c, frame.body);
      return;
    }
    BodyReader body(frame.body);
    switch (frame.type) {
      case FrameType::kJoin:
        c.join_asked = true;
        AnswerJoins();
        return;
      case FrameType::kSet: return HandleSet(c, body);
      case FrameType::kGet: return HandleWait(c, body, /*want_value=*/true);
      case FrameType::kWait: return HandleWait(c, body, /*want_value=*/false);
      case FrameType::kSend: return HandleSend(c, body);
      case FrameType::kBroadcast: {
        std::string payload;
        if (!body.Bytes(&payload) || !body.AtEnd()) return ProtocolError(c, "a malformed broadcast");
        const std::string deliver = BodyWriter().U32(static_cast<std::uint32_t>(c.rank)).Bytes(payload).body();
        for (Connection* m : members_)
          if (m != nullptr && m != &c) Queue(*m, FrameType::kDeliver, deliver);
        return;
      }
      case FrameType::kBarrier:
        at_barrier_[static_cast<std::size_t>(c.rank)] = true;
        if (std::all_of(at_barrier_.begin(), at_barrier_.end(), [](bool b) { return b; })) {
          std::fill(at_barrier_.begin(), at_barrier_.end(), false);
          for (Connection* m : members_)
            if (m != nullptr) Queue(*m, FrameType::kBarrierDone);
        }
        return;
      case FrameType::kPing: return;
      case FrameType::kGoodbye: return Leave(c);
      default: return ProtocolError(c, "an unexpected '" + std::string(wire::FrameTypeName(frame.type)) + "' message");
    }
  }

  void HandleHello(Connection& c, const std::string& frame_body) {
    BodyReader body(frame_body);
    std::uint32_t version = 0, world_size = 0, rank = 0;
    std::string token;
    if (!body.U32(&version) || !body.U32(&world_size) || !body.U32(&rank) || !body.Bytes(&token) || !body.AtEnd()) {
      Refuse(c, "a malformed hello");
      return;
    }
    const int r = static_cast<int>(rank);
    if (version != wire::kProtocolVersion) {
      return Refuse(c,
                    "it speaks rendezvous protocol " + std::to_string(version) + ", rank 0 speaks " +
                        std::to_string(wire::kProtocolVersion) + " (run the same infer-engine on every host)",
                    r);
    }
    if (token.empty())
      return Refuse(c, std::string("it presented no token (set ") + kRendezvousTokenVariable + " to the job's token)", r);
    if (!TokensEqual(options_.token, token))
      return Refuse(c, std::string("it presented a wrong token (every rank needs the job's token in ") +
                           kRendezvousTokenVariable + ")",
                    r);
    if (static_cast<int>(world_size) != options_.world_size)
      return Refuse(c,
                    "it expects a world of " + std::to_string(world_size) + " ranks, rank 0 a world of " +
                        std::to_string(options_.world_size) + " (start every rank with the same --world-size)",
                    r);
    if (rank >= world_size) return Refuse(c, "its rank is outside the world of " + std::to_string(world_size), r);
    if (!world_failure_.empty()) return Refuse(c, "the world has failed: " + world_failure_, r);
    if (!join_failure_.empty()) return Refuse(c, "the world did not form: " + join_failure_, r);
    if (Connection* other = members_[rank]; other != nullptr)
      return Refuse(c, "rank " + std::to_string(rank) + " has already joined from " + other->ip +
                           " (two processes started with the same --rank?)",
                    r);
    if (arrived_[rank]) return Refuse(c, "rank " + std::to_string(rank) + " already joined once and left", r);
    c.rank = r;
    c.reader.set_max_body(options_.max_message_bytes + 64);
    members_[rank] = &c;
    arrived_[rank] = true;
    Queue(c, FrameType::kWelcome);
    LOG_INFO("rendezvous: rank {} joined from {}", rank, c.ip);
    AnswerJoins();
  }

  // Answers the ranks that asked to join, once the answer is known.
  void AnswerJoins() {
    const bool complete = std::all_of(arrived_.begin(), arrived_.end(), [](bool b) { return b; });
    if (!complete && join_failure_.empty()) return;
    for (Connection* m : members_) {
      if (m == nullptr || !m->join_asked) continue;
      m->join_asked = false;
      if (join_failure_.empty()) {
        Queue(*m, FrameType::kJoined);
      } else {
        Queue(*m, FrameType::kJoinFailed, BodyWriter().Bytes(join_failure_).body());
      }
    }
    if (complete && !joined_) {
      joined_ = true;
      LOG_INFO("rendezvous: all {} ranks joined", options_.world_size);
    }
  }

  void HandleSet(Connection& c, BodyReader& body) {
    std::string key, value;
    if (!body.Bytes(&key) || !body.Bytes(&value) || !body.AtEnd()) return ProtocolError(c, "a malformed set");
    if (key.size() > kMaxKeyBytes)
      return Queue(c, FrameType::kStoreFailed, BodyWriter().Bytes("a key longer than 1 KiB").body());
    const auto old = store_.find(key);
    const std::size_t old_bytes = old == store_.end() ? 0 : old->first.size() + old->second.size();
    if (store_bytes_ - old_bytes + key.size() + value.size() > options_.max_store_bytes) {
      return Queue(c, FrameType::kStoreFailed,
                   BodyWriter().Bytes("the store is full (" + std::to_string(options_.max_store_bytes) + " bytes)").body());
    }
    store_bytes_ = store_bytes_ - old_bytes + key.size() + value.size();
    store_[key] = std::move(value);
    Queue(c, FrameType::kDone);
    // Serve the waits this key completes.
    for (auto it = waits_.begin(); it != waits_.end();) {
      if (TryAnswer(*it)) {
        it = waits_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void HandleWait(Connection& c, BodyReader& body, bool want_value) {
    StoreWait wait{&c, {}, want_value, {}, {}};
    std::uint32_t timeout_ms = 0;
    if (want_value) {
      std::string key;
      if (!body.Bytes(&key) || !body.U32(&timeout_ms) || !body.AtEnd()) return ProtocolError(c, "a malformed get");
      wait.keys.push_back(std::move(key));
    } else {
      std::uint32_t n = 0;
      if (!body.U32(&timeout_ms) || !body.U32(&n)) return ProtocolError(c, "a malformed wait");
      for (std::uint32_t i = 0; i < n; ++i) {
        std::string key;
        if (!body.Bytes(&key)) return ProtocolError(c, "a malformed wait");
        wait.keys.push_back(std::move(key));
      }
      if (!body.AtEnd()) return ProtocolError(c, "a malformed wait");
    }
    wait.timeout = std::min(std::chrono::milliseconds(timeout_ms), kMaxStoreWait);
    wait.deadline = Clock::now() + wait.timeout;
    if (!TryAnswer(wait)) waits_.push_back(std::move(wait));
  }

  bool TryAnswer(const StoreWait& wait) {
    for (const std::string& key : wait.keys)
      if (store_.count(key) == 0) return false;
    if (wait.want_value) {
      Queue(*wait.connection, FrameType::kValue, BodyWriter().Bytes(store_[wait.keys.front()]).body());
    } else {
      Queue(*wait.connection, FrameType::kDone);
    }
    return true;
  }

  void HandleSend(Connection& c, BodyReader& body) {
    std::uint32_t to = 0;
    std::string payload;
    if (!body.U32(&to) || !body.Bytes(&payload) || !body.AtEnd()) return ProtocolError(c, "a malformed send");
    if (to >= members_.size() || static_cast<int>(to) == c.rank)
      return ProtocolError(c, "a message to rank " + std::to_string(to) + ", which is not a peer");
    // A rank that left or failed gets nothing; its sender hears of it through kLeft or kFailure.
    if (Connection* m = members_[to]; m != nullptr)
      Queue(*m, FrameType::kDeliver, BodyWriter().U32(static_cast<std::uint32_t>(c.rank)).Bytes(payload).body());
  }

  void Queue(Connection& c, FrameType type, std::string_view body = {}) {
    if (c.closed) return;
    c.outbox += wire::EncodeFrame(type, body);
    if (c.rank >= 0 && c.queued() > max_queued_) {
      MemberFailed(c, cluster::StatusCode::kUnavailable,
                   "does not read what the rendezvous sends it (" + std::to_string(c.queued()) + " bytes queued)");
    }
  }

  void Flush(Connection& c) {
    while (c.queued() > 0) {
      const ssize_t n = ::send(c.socket.fd(), c.outbox.data() + c.outbox_sent, c.queued(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        c.outbox_sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (c.outbox_sent > c.outbox.size() / 2) {  // keep the string no larger than twice what is queued
          c.outbox.erase(0, c.outbox_sent);
          c.outbox_sent = 0;
        }
        return;
      }
      ConnectionEnded(c, errno == ECONNRESET || errno == EPIPE
                             ? "closed its connection to the rendezvous: the process exited or was killed"
                             : std::string("lost its connection to the rendezvous (") + std::strerror(errno) +
                                   "): its host went down, or the network to it failed");
      return;
    }
    c.outbox.clear();
    c.outbox_sent = 0;
    if (c.refusing && !c.write_shut) {
      // Half-close and read until the peer closes, so that the refusal is
      // not lost to a reset.
      ::shutdown(c.socket.fd(), SHUT_WR);
      c.write_shut = true;
    }
  }

  void FlushAll() {
    for (auto& c : connections_)
      if (!c->closed && c->queued() > 0) Flush(*c);
  }

  void CheckDeadlines(Clock::time_point now) {
    for (auto& c : connections_) {
      if (c->closed) continue;
      if (c->rank < 0 && now >= c->deadline) {
        // (A refused peer that has not hung up by now is cut off too.)
        if (!c->refusing) LOG_WARNING("rendezvous: closed a connection from {}: it did not present itself in time", c->ip);
        Close(*c);
      } else if (c->rank >= 0 && now - c->last_heard > options_.peer_timeout) {
        MemberFailed(*c, cluster::StatusCode::kDeadlineExceeded,
                     "sent nothing for " + phrases::Seconds(options_.peer_timeout) +
                         ": it hung, or the network to its host failed");
      }
    }
    if (!joined_ && join_failure_.empty() && now >= join_deadline_) {
      std::vector<int> missing;
      for (std::size_t r = 0; r < arrived_.size(); ++r)
        if (!arrived_[r]) missing.push_back(static_cast<int>(r));
      join_failure_ = phrases::RankList(missing) + " did not arrive within " +
                      phrases::Seconds(options_.join_timeout);
      LOG_ERROR("rendezvous: {}", join_failure_);
      AnswerJoins();
    }
    for (auto it = waits_.begin(); it != waits_.end();) {
      if (now < it->deadline) {
        ++it;
        continue;
      }
      std::string missing;
      for (const std::string& key : it->keys)
        if (store_.count(key) == 0) missing = key;
      Queue(*it->connection, FrameType::kStoreFailed,
            BodyWriter().Bytes("key '" + missing + "' was not set within " + phrases::Seconds(it->timeout)).body());
      it = waits_.erase(it);
    }
  }

  void ProtocolError(Connection& c, const std::string& what) {
    if (c.rank < 0) {
      LOG_WARNING("rendezvous: closed a connection from {}: {}", c.ip, what);
      Close(c);
      return;
    }
    MemberFailed(c, cluster::StatusCode::kUnavailable, "sent a malformed message (" + what + ")");
  }

  void ConnectionEnded(Connection& c, const std::string& why) {
    if (c.rank < 0 || stopping_) {  // (while shutting down, ranks hang up)
      Close(c);
      return;
    }
    MemberFailed(c, cluster::StatusCode::kUnavailable, why);
  }

  // A rank failed: every other rank hears which and why; the world stays
  // failed. Once the join has failed, ranks that give up are not news, nor
  // are ranks that hang up while the world shuts down.
  void MemberFailed(Connection& c, cluster::StatusCode code, const std::string& why) {
    const int rank = c.rank;
    const std::string message = c.Who() + " " + why;
    Close(c);
    if (stopping_ || !world_failure_.empty() || !join_failure_.empty()) return;
    world_failure_ = message;
    LOG_ERROR("rendezvous: {}", message);
    const std::string body =
        BodyWriter().U32(static_cast<std::uint32_t>(rank)).U32(static_cast<std::uint32_t>(code)).Bytes(message).body();
    for (Connection* m : members_)
      if (m != nullptr) Queue(*m, FrameType::kFailure, body);
  }

  // A goodbye: the rank leaves on purpose.
  void Leave(Connection& c) {
    const int rank = c.rank;
    LOG_INFO("rendezvous: rank {} left", rank);
    Close(c);
    const std::string body = BodyWriter().U32(static_cast<std::uint32_t>(rank)).body();
    for (Connection* m : members_)
      if (m != nullptr) Queue(*m, FrameType::kLeft, body);
  }

  void Close(Connection& c) {
    if (c.closed) return;
    c.closed = true;
    if (c.rank >= 0 && members_[static_cast<std::size_t>(c.rank)] == &c) members_[static_cast<std::size_t>(c.rank)] = nullptr;
    waits_.erase(std::remove_if(waits_.begin(), waits_.end(), [&](const StoreWait& w) { return w.connection == &c; }),
                 waits_.end());
    c.socket.Close();
  }

  void Sweep() {
    connections_.erase(std::remove_if(connections_.begin(), connections_.end(), [](const auto& c) { return c->closed; }),
                       connections_.end());
  }

  // The world shuts down: every rank still here sees rank 0 leave. Each
  // connection is half-closed once its last bytes are out and read from
  // until the rank closes it (at most kFarewellTime), so that no reset
  // destroys the farewell before the rank reads it.
  void Farewell() {
    const std::string body = BodyWriter().U32(0).body();
    for (Connection* m : members_)
      if (m != nullptr) Queue(*m, FrameType::kLeft, body);
    const Clock::time_point until = Clock::now() + kFarewellTime;
    const auto open = [&] {
      return std::any_of(connections_.begin(), connections_.end(), [](const auto& c) { return !c->closed; });
    };
    while (Clock::now() < until && open()) {
      FlushAll();
      for (auto& c : connections_) {
        if (!c->closed && c->queued() == 0 && !c->write_shut) {
          ::shutdown(c->socket.fd(), SHUT_WR);
          c->write_shut = true;
        }
      }
      PollOnce(kTick);
    }
    for (auto& c : connections_) Close(*c);
  }

  const RendezvousServerOptions options_;
  net::Socket listener_;
  net::Socket wake_;
  const std::vector<std::string> allowed_;
  const std::string own_ip_;
  std::atomic<bool> stopping_{false};

  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> members_;  // by rank; null when not connected
  std::vector<bool> arrived_;         // by rank: ever admitted
  std::vector<bool> at_barrier_;
  const Clock::time_point join_deadline_;
  bool joined_ = false;
  std::string join_failure_;   // set when the join deadline passed first
  std::string world_failure_;  // the first rank failure

  std::map<std::string, std::string> store_;
  std::size_t store_bytes_ = 0;
  std::vector<StoreWait> waits_;
  const std::size_t max_queued_;
};

StatusOr<std::unique_ptr<RendezvousServer>> RendezvousServer::Start(const RendezvousServerOptions& options) {
  if (options.world_size < 1 || options.world_size > wire::kMaxWorldSize) {
    return cluster::InvalidArgumentError("rendezvous: the world size must be in [1, " +
                                         std::to_string(wire::kMaxWorldSize) + "]");
  }
  if (options.token.empty()) {
    return cluster::InvalidArgumentError(std::string("rendezvous: no token: set ") + kRendezvousTokenVariable +
                                         " to the job's token");
  }
  std::vector<std::string> allowed;
  for (const std::string& peer : options.allowed_peers) {
    std::optional<std::string> ip = CanonicalIp(peer);
    if (!ip) {
      return cluster::InvalidArgumentError("rendezvous: allowed peer '" + peer + "' is not an IP address");
    }
    allowed.push_back(*ip);
  }
  CLUSTER_ASSIGN_OR_RETURN(net::HostPort at, net::ParseHostPort(options.address));
  auto listener = net::Listen(at, 128);
  if (!listener.ok()) return listener.status().WithContext("rendezvous");
  std::unique_ptr<RendezvousServer> server(new RendezvousServer());
  server->port_ = net::LocalPort(listener->fd());
  server->address_ = net::HostPort{at.host, server->port_}.ToString();
  const std::string own_ip = net::LocalAddress(listener->fd());
  server->loop_ = std::make_unique<Loop>(options, std::move(*listener), std::move(allowed), own_ip);
  if (!server->loop_->ok()) return cluster::InternalError("rendezvous: eventfd failed");
  server->thread_ = std::thread([loop = server->loop_.get()] { loop->Run(); });
  return server;
}

RendezvousServer::~RendezvousServer() {
  if (loop_) loop_->Stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace engine
