// Comm: collectives over a fixed group of ranks (one process per rank).
//
// The model calls these at tensor-parallel boundaries (AllReduceSum after
// each row-parallel Linear: attention's o_proj and the MLP's down_proj) so
// the same model code runs on one process (LocalComm) or many (a Gloo comm
// over TCP for CPUs, an NCCL comm for GPUs; later issues). Tensors are the
// backend's own (host memory for CpuBackend, device memory for CUDA); an
// implementation must match its backend.
//
// Contract for every call: collective calls (AllReduceSum, AllGather,
// Broadcast, Barrier) must be made by every rank of the group in the same
// order with tensors of the same shape and dtype; Send/Recv pair up in order
// between two ranks. Failures (a peer gone, a timeout) return Unavailable or
// DeadlineExceeded with a message that names the peer where it is known; a
// rank that sees one must stop using the group. Shapes and dtypes that break
// a call's REQUIRES return InvalidArgument before anything is sent.
//
// Thread safety: one thread at a time per Comm, except Abort, which any
// thread may call at any time (it is how a watchdog ends a blocked call).
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
  // `out` becomes the ranks' `in` concatenated along dimension 0, in rank
  // order. REQUIRES: `in` has at least one dimension; `out` has the dtype of
  // `in`, dimension 0 of world_size() x in.dim(0) and the other dimensions of
  // `in`; the two do not overlap.
  virtual Status AllGather(const Tensor& in, Tensor& out) = 0;
  // In place: every rank's `tensor` becomes root's.
  virtual Status Broadcast(Tensor& tensor, int root) = 0;
  // Sends `tensor` to rank `peer`, which calls Recv with a tensor of the same
  // shape and dtype.
  virtual Status Send(const Tensor& tensor, int peer) = 0;
  // Receives into `tensor` from rank `peer`.
  virtual Status Recv(Tensor& tensor, int peer) = 0;
  // Returns once every rank has called Barrier.
  virtual Status Barrier() = 0;

  // Makes the call running in another thread (if any) and every later call
  // fail with `reason`, which names the failure found elsewhere (a peer that
  // stopped answering the world's heartbeats). The first reason sticks.
  virtual void Abort(const Status& reason) = 0;
};

// The REQUIRES of Comm::AllGather: OK, or InvalidArgument saying which shape
// or dtype is wrong (for implementations).
Status CheckAllGatherShapes(const Tensor& in, const Tensor& out, int world_size);

}  // namespace engine
