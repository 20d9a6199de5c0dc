// RendezvousServer: where the ranks of a world meet. Rank 0 runs it on the
// cluster address (ADDRESS:PORT of --rendezvous); every rank, rank 0 too,
// connects with a RendezvousClient.
//
// What it does (docs/parallelism.md, "The rendezvous"):
// - Admits a connection only from an allowed address (allowed_peers, plus the
//   server's own address; empty list: any), and a rank only with the job's
//   token, the same world size, a rank in range that has not joined before.
//   A refused peer gets the reason, and the refusal is logged.
// - Join: answers every rank once all world_size ranks are in, or, at
//   join_timeout after Start, with the ranks that never arrived.
// - A key-value store (set, get and wait with a timeout) for Gloo's and
//   NCCL's own rendezvous.
// - Relays control messages (send to one rank, broadcast to all others) and
//   runs a barrier over all ranks.
// - Liveness: pings every rank each heartbeat_interval; a rank whose
//   connection closes without goodbye, or that sends nothing for
//   peer_timeout, has failed, and every other rank is told which one and why
//   (the world then stays failed). A goodbye is a clean leave: the others
//   are told the rank left.
//
// Bounds: handshake_timeout for a new connection to present itself,
// max_pending_connections not yet admitted, a 4 KiB handshake, frames of
// max_message_bytes, max_store_bytes in the store, keys of 1 KiB, store
// waits of 10 minutes, and a rank that lets more than 4 x max_message_bytes
// (at least 64 MiB) pile up unread has failed.
//
// Threading: one thread (started by Start) does all the work; the object's
// methods may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/status.h"

namespace engine {

struct RendezvousServerOptions {
  std::string address;  // "HOST:PORT" to listen on: the cluster address (port 0: any free port)
  int world_size = 1;
  std::string token;                       // the job's token; must not be empty
  std::vector<std::string> allowed_peers;  // numeric IP addresses; empty: any
  std::chrono::milliseconds join_timeout{60'000};
  std::chrono::milliseconds handshake_timeout{5'000};
  std::chrono::milliseconds heartbeat_interval{1'000};
  std::chrono::milliseconds peer_timeout{5'000};
  std::size_t max_message_bytes = std::size_t{16} << 20;
  std::size_t max_store_bytes = std::size_t{64} << 20;
  int max_pending_connections = 16;
};

class RendezvousServer {
 public:
  // Listens and starts serving. InvalidArgument for bad options (an empty
  // token, an allowed peer that is not an IP address), Unavailable when the
  // address cannot be bound.
  static StatusOr<std::unique_ptr<RendezvousServer>> Start(const RendezvousServerOptions& options);
  // Tells every rank still connected that the world shuts down (they see
  // rank 0 leave), then closes everything (at most about a second).
  ~RendezvousServer();

  // "HOST:PORT" listened on, with the port chosen when options.address asked for 0.
  const std::string& address() const { return address_; }
  int port() const { return port_; }

  class Loop;  // the serving thread's state (rendezvous_server.cc)

 private:
  RendezvousServer() = default;

  std::string address_;
  int port_ = 0;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
};

}  // namespace engine
