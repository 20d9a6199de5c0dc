// NcclComm: a Comm over NCCL, for tensors in GPU memory (F32, F16, BF16,
// I32). Built only where the CUDA toolkit is (CLUSTER_HAVE_CUDA).
//
// Create exchanges the group's unique id through the rendezvous store (group
// rank 0 makes it) and initialises a non-blocking communicator with
// ncclCommInitRankConfig, bounded by connect_timeout. NCCL refuses two ranks
// of one group on the same GPU.
//
// Operations are enqueued on the caller's stream and return: the result is
// there when the stream reaches it (stream order, as every GPU op). Barrier
// and Synchronize wait for the stream.
//
// Never a silent hang: a watchdog thread polls ncclCommGetAsyncError and
// the completion of every enqueued operation; an NCCL error, or an
// operation still unfinished after operation_timeout, aborts the
// communicator (ncclCommAbort, which ends its kernels), and every later call
// returns that failure. Abort does the same from any thread (the world's
// liveness: a peer died or hung). Errors name the operation and the group
// ("all-reduce in the tensor group of stage 0 (ranks 0, 1): ...").
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/comm/comm.h"
#include "engine/comm/rendezvous/rendezvous_client.h"

namespace engine {

struct NcclCommOptions {
  std::string group_name;        // how errors name the group: "tensor group of stage 1"
  std::vector<int> world_ranks;  // the members in group-rank order; this rank among them
  int world_rank = 0;            // this process's rank in the world
  int cuda_device = 0;           // this rank's GPU
  cudaStream_t stream = nullptr;  // where operations are enqueued (nullptr: the legacy default stream)
  std::chrono::milliseconds connect_timeout{60'000};
  std::chrono::milliseconds operation_timeout{60'000};
};

class NcclComm final : public Comm {
 public:
  static StatusOr<std::unique_ptr<NcclComm>> Create(RendezvousClient& rendezvous, const NcclCommOptions& options);
  // Stops the watchdog; destroys the communicator (aborts it if it failed).
  ~NcclComm() override;

  int rank() const override { return rank_; }
  int world_size() const override { return static_cast<int>(options_.world_ranks.size()); }

  Status AllReduceSum(Tensor& tensor) override;
  Status AllGather(const Tensor& in, Tensor& out) override;
  Status Broadcast(Tensor& tensor, int root) override;
  Status Send(const Tensor& tensor, int peer) override;
  Status Recv(Tensor& tensor, int peer) override;
  // An all-reduce of one number, then Synchronize.
  Status Barrier() override;
  void Abort(const Status& reason) override;

  // Waits until the stream has done everything enqueued on it (at most
  // operation_timeout, then the communicator is aborted).
  Status Synchronize();

 private:
  NcclComm(const NcclCommOptions& options, int rank) : options_(options), rank_(rank) {}

  std::string Where(std::string_view operation) const;
  Status Failure() const;
  Status CheckPeer(std::string_view operation, int peer) const;
  // Completes an NCCL call: waits out ncclInProgress (bounded), records the
  // operation for the watchdog, or turns an error into a Status.
  Status Enqueued(std::string_view operation, ncclResult_t result);
  Status WaitForComm(std::string_view operation, ncclResult_t result, std::chrono::milliseconds limit);
  void Watch();
  void AbortWith(const Status& reason);

  struct InFlight {
    cudaEvent_t done;
    std::chrono::steady_clock::time_point since;
    std::string operation;
  };

  // Runs `call` on the communicator unless it was aborted (ncclCommAbort
  // frees it, so no other call may run beside or after it).
  template <typename Call>
  ncclResult_t WithComm(Call call) const {
    std::shared_lock<std::shared_mutex> lock(comm_mutex_);
    return aborted_ ? ncclInvalidUsage : call(comm_);
  }
  // ncclGetLastError's text, or "" once aborted.
  std::string LastError() const;

  const NcclCommOptions options_;
  const int rank_;
  ncclComm_t comm_ = nullptr;
  void* barrier_word_ = nullptr;  // one int on the GPU

  mutable std::shared_mutex comm_mutex_;  // NCCL calls: shared; ncclCommAbort: exclusive
  bool aborted_ = false;                  // guarded by comm_mutex_

  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable wake_;
  Status failure_;
  bool stopping_ = false;
  std::deque<InFlight> in_flight_;
  std::thread watchdog_;
};

}  // namespace engine
