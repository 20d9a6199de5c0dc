// ControlChannel: variable-size byte messages between the ranks of a world,
// on the host (never device memory).
//
// The step protocol runs on it: rank 0 sends each step's plan to the ranks
// that need it (Broadcast or Send), the last stage returns the sampled
// tokens to rank 0 (Send / Receive). Messages are opaque bytes (std::string
// holds them); their format belongs to the caller.
//
// Contract: messages from one rank to another arrive in the order sent, each
// whole. A message larger than max_message_bytes() is refused with
// InvalidArgument before anything is sent. A peer that dies or hangs makes
// every call fail (Unavailable or DeadlineExceeded) with a message naming
// it, within the heartbeat's peer timeout, also while the caller just waits
// for the next message; a peer that left on purpose makes Receive from it
// fail with Unavailable once its earlier messages are read.
//
// Thread safety: every method may be called from any thread; Receive from
// one peer by one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace engine {

class ControlChannel {
 public:
  virtual ~ControlChannel() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::size_t max_message_bytes() const = 0;

  // Queues `message` for rank `to` (not this rank) and returns; it does not
  // wait for the peer to read it.
  virtual Status Send(int to, std::string_view message) = 0;
  // The next message from rank `from`, waiting as long as it takes.
  virtual StatusOr<std::string> Receive(int from) = 0;
  // The same, waiting at most `timeout`: DeadlineExceeded when nothing came
  // (the channel stays usable).
  virtual StatusOr<std::string> Receive(int from, std::chrono::milliseconds timeout) = 0;
  // root: sends `message` to every other rank; the others: receive root's
  // message into `message`.
  virtual Status Broadcast(std::string& message, int root) = 0;
  // Returns once every rank of the world has called Barrier.
  virtual Status Barrier() = 0;
};

// The world of one: no peers. Send and Receive fail with InvalidArgument,
// Broadcast from root 0 and Barrier return at once.
class LocalControlChannel final : public ControlChannel {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::size_t max_message_bytes() const override { return 0; }
  Status Send(int to, std::string_view message) override;
  StatusOr<std::string> Receive(int from) override;
  StatusOr<std::string> Receive(int from, std::chrono::milliseconds timeout) override;
  Status Broadcast(std::string& message, int root) override;
  Status Barrier() override { return Status::Ok(); }
};

}  // namespace engine
