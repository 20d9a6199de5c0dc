// HostStagedComm: a Comm for GPU tensors that carries them through host
// memory and runs each operation on a Comm for host tensors (a GlooComm).
// Built with CUDA only.
//
// For ranks of one group that share a GPU, which NCCL refuses: two
// processes on one GPU can then run TP2 or PP2 with CUDA tensors and give
// the results of one process, so the sharded CUDA path is tested on a
// machine with one GPU. Slower than NCCL (every byte crosses PCIe twice);
// sums are those of the host Comm (GlooComm: in the dtype, as NCCL).
//
// Each call copies the device tensor to a pinned host buffer on the
// caller's stream, waits for the stream (so the buffers are never touched
// while a copy of the last call is pending), runs the host operation, and
// enqueues the copy back on the stream: it returns when the host operation
// is done, and the result is on the GPU in stream order. Failures are the
// host Comm's (they name the group and the failed rank) or CUDA's.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>

#include "engine/comm/comm.h"

namespace engine {

class HostStagedComm final : public Comm {
 public:
  HostStagedComm(std::unique_ptr<Comm> host, cudaStream_t stream) : host_(std::move(host)), stream_(stream) {}

  int rank() const override { return host_->rank(); }
  int world_size() const override { return host_->world_size(); }

  Status AllReduceSum(Tensor& tensor) override;
  Status AllGather(const Tensor& in, Tensor& out) override;
  Status Broadcast(Tensor& tensor, int root) override;
  Status Send(const Tensor& tensor, int peer) override;
  Status Recv(Tensor& tensor, int peer) override;
  Status Barrier() override { return host_->Barrier(); }
  void Abort(const Status& reason) override { host_->Abort(reason); }

 private:
  // A host tensor shaped like `like` in pinned buffer `slot` (0 or 1),
  // grown as needed and reused.
  StatusOr<Tensor> Staging(int slot, const Tensor& like);
  // Waits for the stream, so that no copy it holds still reads a buffer.
  Status Drain();
  // Device -> host, then waits for the stream.
  Status ToHost(const Tensor& device, Tensor& host);
  // Host -> device, in stream order.
  Status ToDevice(const Tensor& host, Tensor& device);

  std::unique_ptr<Comm> host_;
  cudaStream_t stream_;
  std::shared_ptr<TensorStorage> buffers_[2];
};

}  // namespace engine
