// LocalComm: the group of one process (rank 0 of a world of 1).
//
// Collectives are identities: the sum over one rank is the tensor itself,
// broadcast from rank 0 leaves it unchanged, the barrier returns at once.
// There is no peer, so Send and Recv fail with InvalidArgument, as does a
// Broadcast from a root other than 0.
#pragma once

#include "engine/comm/comm.h"

namespace engine {

class LocalComm final : public Comm {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }

  Status AllReduceSum(Tensor& tensor) override;
  Status Broadcast(Tensor& tensor, int root) override;
  Status Send(const Tensor& tensor, int peer) override;
  Status Recv(Tensor& tensor, int peer) override;
  Status Barrier() override;
};

}  // namespace engine
