// LocalComm: the group of one process (rank 0 of a world of 1).
//
// Collectives are identities: the sum over one rank is the tensor itself,
// the all-gather of one rank copies `in` to `out` (host memory only: a world
// of one on a GPU has its own backend copy), broadcast from rank 0 leaves the
// tensor unchanged, the barrier returns at once. There is no peer, so Send
// and Recv fail with InvalidArgument, as does a Broadcast from a root other
// than 0. After Abort every call returns the abort's reason.
#pragma once

#include <mutex>

#include "engine/comm/comm.h"

namespace engine {

class LocalComm final : public Comm {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }

  Status AllReduceSum(Tensor& tensor) override;
  Status AllGather(const Tensor& in, Tensor& out) override;
  Status Broadcast(Tensor& tensor, int root) override;
  Status Send(const Tensor& tensor, int peer) override;
  Status Recv(Tensor& tensor, int peer) override;
  Status Barrier() override;
  void Abort(const Status& reason) override;

 private:
  Status aborted() const;

  mutable std::mutex mutex_;
  Status abort_reason_;  // guarded by mutex_
};

}  // namespace engine
