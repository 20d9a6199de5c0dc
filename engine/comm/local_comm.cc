#include "engine/comm/local_comm.h"

#include <string>

namespace engine {

Status LocalComm::AllReduceSum(Tensor& /*tensor*/) { return Status::Ok(); }

Status LocalComm::Broadcast(Tensor& /*tensor*/, int root) {
  if (root != 0) {
    return cluster::InvalidArgumentError("broadcast: root " + std::to_string(root) +
                                         " is not a rank of this world of 1 (only rank 0)");
  }
  return Status::Ok();
}

Status LocalComm::Send(const Tensor& /*tensor*/, int peer) {
  return cluster::InvalidArgumentError("send: rank " + std::to_string(peer) +
                                       " is not a peer: this process is a world of 1");
}

Status LocalComm::Recv(Tensor& /*tensor*/, int peer) {
  return cluster::InvalidArgumentError("recv: rank " + std::to_string(peer) +
                                       " is not a peer: this process is a world of 1");
}

Status LocalComm::Barrier() { return Status::Ok(); }

}  // namespace engine
