#include "engine/comm/local_comm.h"

#include <cstring>
#include <string>

namespace engine {

Status LocalComm::aborted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return abort_reason_;
}

void LocalComm::Abort(const Status& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (abort_reason_.ok()) abort_reason_ = reason;
}

Status LocalComm::AllReduceSum(Tensor& /*tensor*/) { return aborted(); }

Status LocalComm::AllGather(const Tensor& in, Tensor& out) {
  CLUSTER_RETURN_IF_ERROR(aborted());
  CLUSTER_RETURN_IF_ERROR(CheckAllGatherShapes(in, out, 1));
  if (in.num_bytes() > 0) std::memcpy(out.data(), in.data(), in.num_bytes());
  return Status::Ok();
}

Status LocalComm::Broadcast(Tensor& /*tensor*/, int root) {
  CLUSTER_RETURN_IF_ERROR(aborted());
  if (root != 0) {
    return cluster::InvalidArgumentError("broadcast: root " + std::to_string(root) +
                                         " is not a rank of this world of 1 (only rank 0)");
  }
  return Status::Ok();
}

Status LocalComm::Send(const Tensor& /*tensor*/, int peer) {
  CLUSTER_RETURN_IF_ERROR(aborted());
  return cluster::InvalidArgumentError("send: rank " + std::to_string(peer) +
                                       " is not a peer: this process is a world of 1");
}

Status LocalComm::Recv(Tensor& /*tensor*/, int peer) {
  CLUSTER_RETURN_IF_ERROR(aborted());
  return cluster::InvalidArgumentError("recv: rank " + std::to_string(peer) +
                                       " is not a peer: this process is a world of 1");
}

Status LocalComm::Barrier() { return aborted(); }

}  // namespace engine
