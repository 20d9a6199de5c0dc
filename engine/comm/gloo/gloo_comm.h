// GlooComm: a Comm over Gloo's TCP transport, for tensors in host memory
// (CpuBackend): F32, F16, BF16 and I32.
//
// A group is a list of world ranks (a tensor group, a pipeline group, the
// world); its members find each other through the rendezvous store and then
// talk directly, one TCP connection per pair, bound to this rank's cluster
// address (the interface named by GLOO_SOCKET_IFNAME, else the address this
// rank reaches the rendezvous from). Sums of F16 and BF16 are rounded to
// their dtype at each step, as NCCL does.
//
// Failures: every operation is bounded by operation_timeout; a peer that
// closes or resets its connection fails the operation at once (after up to
// a second's wait for Abort to name the first failure, since a closed
// connection is often the echo of another rank's failure). Errors say which
// operation, which group and, where Gloo or the world knows it, which rank
// failed ("all-reduce in the tensor group of stage 0 (ranks 0, 1): rank 1
// (127.0.0.1) closed the connection: the process exited or was killed").
// Abort (from any thread, e.g. the world's liveness thread) fails the call
// in flight at once with the abort's reason and closes the connections, so
// the group's other members fail too. After any failure the group is
// unusable.
//
// Security: Gloo's connections carry no authentication; the rendezvous
// (token, allow-list) decides who learns the group's addresses, and the
// sockets listen only on the cluster address, only until the group is
// connected (docs/parallelism.md).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/comm/comm.h"
#include "engine/comm/rendezvous/rendezvous_client.h"

namespace gloo {
class Context;
}

namespace engine {

struct GlooCommOptions {
  std::string group_name;        // how errors name the group: "tensor group of stage 1"
  std::vector<int> world_ranks;  // the members in group-rank order; this rank among them
  int world_rank = 0;            // this process's rank in the world
  std::string interface;         // bind to this interface's address (GLOO_SOCKET_IFNAME) ...
  std::string local_address;     // ... else to this IP; both empty: the rendezvous connection's local address
  std::chrono::milliseconds connect_timeout{30'000};
  std::chrono::milliseconds operation_timeout{60'000};
};

class GlooComm final : public Comm {
 public:
  // Connects the group: every member calls Create with the same group_name
  // and world_ranks, in the same order relative to its other groups.
  // InvalidArgument for a bad member list, else the failure of the
  // rendezvous or of Gloo, naming the group.
  static StatusOr<std::unique_ptr<GlooComm>> Create(RendezvousClient& rendezvous, const GlooCommOptions& options);
  ~GlooComm() override;

  int rank() const override { return rank_; }
  int world_size() const override { return static_cast<int>(options_.world_ranks.size()); }

  Status AllReduceSum(Tensor& tensor) override;
  Status AllGather(const Tensor& in, Tensor& out) override;
  Status Broadcast(Tensor& tensor, int root) override;
  Status Send(const Tensor& tensor, int peer) override;
  Status Recv(Tensor& tensor, int peer) override;
  Status Barrier() override;
  void Abort(const Status& reason) override;

 private:
  GlooComm(const GlooCommOptions& options, int rank) : options_(options), rank_(rank) {}

  // "all-reduce in the tensor group of stage 0 (ranks 0, 1)"
  std::string Where(std::string_view operation) const;
  Status Aborted(std::string_view operation) const;
  Status CheckPeer(std::string_view operation, int peer) const;
  // The Status for an exception Gloo threw during `operation`.
  Status Failed(std::string_view operation, const std::exception& error) const;
  Status PublishEndpoints(RendezvousClient& rendezvous, const std::string& prefix);

  const GlooCommOptions options_;
  const int rank_;
  std::shared_ptr<gloo::Context> context_;
  // Gloo names a failed peer by its end of the connection ("[ip]:port");
  // this maps those to world ranks.
  std::map<std::string, int> peer_by_endpoint_;

  mutable std::mutex abort_mutex_;
  mutable std::condition_variable abort_changed_;
  Status abort_reason_;  // guarded by abort_mutex_
};

}  // namespace engine
