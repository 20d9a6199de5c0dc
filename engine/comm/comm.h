// Comm: collectives over a fixed group of ranks (one process per rank).
//
// The model calls these at tensor-parallel boundaries (AllReduceSum after
// each row-parallel Linear: attention's o_proj and the MLP's down_proj) so
// the same model code runs on one process (LocalComm) or many (a Gloo comm
// over TCP for CPUs, an NCCL comm for GPUs; later issues). Tensors are the
// backend's own (host memory for CpuBackend, device memory for CUDA); an
// implementation must match its backend.
//
// Contract for every call: collective calls (AllReduceSum, Broadcast,
// Barrier) must be made by every rank of the group in the same order with
// tensors of the same shape and dtype; Send/Recv pair up in order between two
// ranks. Failures (a peer gone, a timeout) return Unavailable or
// DeadlineExceeded; a rank that sees one must stop using the group.
//
// Thread safety: one thread at a time per Comm.
#pragma once

#include "engine/status.h"
#include "engine/tensor.h"

namespace engine {

class Comm {
 public:
  virtual ~Comm() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;

  // In place: every rank's `tensor` becomes the elementwise sum over ranks.
  virtual Status AllReduceSum(Tensor& tensor) = 0;
  // In place: every rank's `tensor` becomes root's.
  virtual Status Broadcast(Tensor& tensor, int root) = 0;
  // Sends `tensor` to rank `peer`, which calls Recv with a tensor of the same
  // shape and dtype.
  virtual Status Send(const Tensor& tensor, int peer) = 0;
  // Receives into `tensor` from rank `peer`.
  virtual Status Recv(Tensor& tensor, int peer) = 0;
  // Returns once every rank has called Barrier.
  virtual Status Barrier() = 0;
};

}  // namespace engine
