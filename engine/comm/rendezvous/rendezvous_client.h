// RendezvousClient: one rank's connection to the rendezvous on rank 0
// (rendezvous_server.h), and through it the world's control channel.
//
// Connect presents the rank (the job's token, the world size, the rank) and
// keeps trying to reach rank 0 until connect_timeout, since ranks start in
// any order. Join then waits for the whole world. After that the client
// carries:
// - the store (Set, Get, Wait) that Gloo and NCCL use to find each other;
// - the world's ControlChannel: byte messages relayed by rank 0's server,
//   and a barrier over all ranks;
// - liveness: a thread pings rank 0 every heartbeat_interval and expects to
//   hear from it within peer_timeout. When a rank fails (the server says
//   which and why) or rank 0 itself dies or hangs, every pending and later
//   call fails with that message, and the failure handler runs once, so
//   that the world can abort its communicators (world.h). A rank that leaves
//   on purpose (destroying its client says goodbye) is not a failure;
//   Receive from it fails once its messages are read.
// Messages not yet received are held up to 4 x max_message_bytes (at least
// 64 MiB); beyond that this rank fails (it does not read its messages).
//
// Thread safety: every method may be called from any thread; store calls,
// Join and Barrier are served one at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/comm/control_channel.h"
#include "engine/comm/rendezvous/socket.h"
#include "engine/comm/rendezvous/wire.h"
#include "engine/status.h"

namespace engine {

struct RendezvousClientOptions {
  std::string address;  // "HOST:PORT" of rank 0's rendezvous, as --rendezvous gives it
  int world_size = 1;
  int rank = 0;
  std::string token;          // the job's token (RendezvousTokenFromEnvironment)
  std::string local_address;  // numeric IP to connect from (the cluster interface's); empty: the kernel's choice
  std::chrono::milliseconds connect_timeout{60'000};  // how long to keep trying to reach rank 0
  std::chrono::milliseconds heartbeat_interval{1'000};
  std::chrono::milliseconds peer_timeout{5'000};
  std::size_t max_message_bytes = std::size_t{16} << 20;
};

class RendezvousClient final : public ControlChannel {
 public:
  // Connects and presents this rank. PermissionDenied "rendezvous at ADDR
  // refused rank R: why" when rank 0 refuses it; DeadlineExceeded when rank 0
  // cannot be reached within connect_timeout; InvalidArgument for an address
  // that does not parse or resolve, or a local address this host lacks.
  static StatusOr<std::unique_ptr<RendezvousClient>> Connect(const RendezvousClientOptions& options);
  // Says goodbye (unless the world failed) and closes.
  ~RendezvousClient() override;

  // Waits until every rank has connected. DeadlineExceeded "rendezvous at
  // ADDR: ranks 2, 3 did not arrive within 60 s" when some never came, or
  // the failure of a rank that came and went.
  Status Join();

  // The store. Get waits up to `timeout` for the key to be set.
  Status Set(std::string_view key, std::string_view value);
  StatusOr<std::string> Get(std::string_view key, std::chrono::milliseconds timeout);
  Status Wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout);

  // ControlChannel.
  int rank() const override { return options_.rank; }
  int world_size() const override { return options_.world_size; }
  std::size_t max_message_bytes() const override { return options_.max_message_bytes; }
  Status Send(int to, std::string_view message) override;
  StatusOr<std::string> Receive(int from) override;
  StatusOr<std::string> Receive(int from, std::chrono::milliseconds timeout) override;
  Status Broadcast(std::string& message, int root) override;
  Status Barrier() override;

  // The world's first failure as this rank saw it; OK while it is healthy.
  Status failure() const;
  // Runs `handler` once with the world's failure, on the thread that found
  // it (at once if the world has already failed). It must not block long.
  void SetFailureHandler(std::function<void(const Status&)> handler);

  // The numeric IP this rank reaches rank 0 from: its cluster address.
  const std::string& local_address() const { return local_address_; }
  const std::string& address() const { return options_.address; }

 private:
  explicit RendezvousClient(const RendezvousClientOptions& options);

  Status Handshake(net::Socket socket);
  void Run(wire::FrameReader reader);  // the liveness and reading thread
  void Dispatch(const wire::Frame& frame);
  void Fail(const Status& failure);
  Status SendFrame(const std::string& frame);
  // Sends a request and waits for its reply (at most `limit`).
  StatusOr<wire::Frame> Request(wire::FrameType type, const std::string& body, std::chrono::milliseconds limit,
                                bool fail_if_a_rank_left);
  StatusOr<std::string> ReceiveUntil(int from, std::optional<net::Clock::time_point> deadline);
  Status CheckPeer(const char* what, int peer) const;
  std::string RankZero() const;  // "rank 0 (the rendezvous at ADDR)"

  const RendezvousClientOptions options_;
  std::string local_address_;
  net::Socket socket_;
  net::Socket wake_;
  std::thread thread_;

  std::mutex write_mutex_;    // one frame at a time on the socket
  std::mutex request_mutex_;  // one request at a time

  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable changed_;
  bool stopping_ = false;
  Status failure_;
  std::function<void(const Status&)> failure_handler_;
  bool awaiting_reply_ = false;
  std::optional<wire::Frame> reply_;
  std::vector<std::deque<std::string>> inbox_;  // by sender
  std::size_t inbox_bytes_ = 0;
  std::vector<bool> left_;  // by rank: left on purpose
  net::Clock::time_point last_sent_;
};

}  // namespace engine
