#include "engine/comm/nccl/nccl_comm.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "engine/comm/rendezvous/phrases.h"

namespace engine {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kWatchInterval{100};

ncclDataType_t NcclType(DType dtype) {
  switch (dtype) {
    case DType::kF32: return ncclFloat32;
    case DType::kF16: return ncclFloat16;
    case DType::kBF16: return ncclBfloat16;
    case DType::kI32: return ncclInt32;
  }
  return ncclFloat32;
}

std::string CudaError(cudaError_t error) { return std::string(cudaGetErrorName(error)) + ": " + cudaGetErrorString(error); }

}  // namespace

StatusOr<std::unique_ptr<NcclComm>> NcclComm::Create(RendezvousClient& rendezvous, const NcclCommOptions& options) {
  const std::string group = "the " + options.group_name + " (" + phrases::RankList(options.world_ranks) + ")";
  const auto me = std::find(options.world_ranks.begin(), options.world_ranks.end(), options.world_rank);
  if (me == options.world_ranks.end() ||
      std::set<int>(options.world_ranks.begin(), options.world_ranks.end()).size() != options.world_ranks.size()) {
    return cluster::InvalidArgumentError("nccl: " + group + " must list each rank once, rank " +
                                         std::to_string(options.world_rank) + " among them");
  }
  std::unique_ptr<NcclComm> comm(new NcclComm(options, static_cast<int>(me - options.world_ranks.begin())));
  const std::string where = "nccl: connecting " + group;
  if (cudaError_t e = cudaSetDevice(options.cuda_device); e != cudaSuccess) {
    return cluster::FailedPreconditionError(where + ": GPU " + std::to_string(options.cuda_device) + ": " + CudaError(e));
  }

  // Group rank 0 makes the id; the others read it from the store.
  const std::string key = "nccl/" + options.group_name + "/" + phrases::JoinRanks(options.world_ranks) + "/id";
  ncclUniqueId id{};
  if (comm->rank_ == 0) {
    if (ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess)
      return cluster::UnavailableError(where + ": ncclGetUniqueId: " + ncclGetErrorString(r));
    CLUSTER_RETURN_IF_ERROR(rendezvous.Set(key, std::string_view(reinterpret_cast<const char*>(&id), sizeof(id))));
  } else {
    auto bytes = rendezvous.Get(key, options.connect_timeout);
    if (!bytes.ok()) return bytes.status().WithContext(where);
    if (bytes->size() != sizeof(id)) return cluster::DataLossError(where + ": the unique id in the store has the wrong size");
    std::memcpy(&id, bytes->data(), sizeof(id));
  }

  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // so that a stuck init can be given up on
  config.commName = comm->options_.group_name.c_str();  // (lives as long as the communicator)
  const ncclResult_t started = ncclCommInitRankConfig(&comm->comm_, comm->world_size(), id, comm->rank_, &config);
  if (started != ncclSuccess && started != ncclInProgress) {
    if (comm->comm_ != nullptr) ncclCommAbort(comm->comm_);
    comm->comm_ = nullptr;
    return cluster::UnavailableError(where + ": ncclCommInitRankConfig: " + ncclGetErrorString(started));
  }
  if (Status s = comm->WaitForComm("init", started, options.connect_timeout); !s.ok()) {
    return Status(s.code(), where + ": " + s.message());
  }
  if (cudaError_t e = cudaMalloc(&comm->barrier_word_, sizeof(int)); e != cudaSuccess) {
    return cluster::ResourceExhaustedError(where + ": cudaMalloc: " + CudaError(e));
  }
  comm->watchdog_ = std::thread([c = comm.get()] { c->Watch(); });
  return comm;
}

NcclComm::~NcclComm() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (watchdog_.joinable()) watchdog_.join();
  for (InFlight& op : in_flight_) cudaEventDestroy(op.done);
  if (barrier_word_ != nullptr) cudaFree(barrier_word_);
  if (comm_ == nullptr || aborted_) return;  // ncclCommAbort freed it
  // A healthy communicator is finalized (bounded), then destroyed; one that
  // failed is aborted.
  ncclResult_t state = Failure().ok() ? ncclCommFinalize(comm_) : ncclInternalError;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
  while (state == ncclInProgress && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (ncclCommGetAsyncError(comm_, &state) != ncclSuccess) state = ncclInternalError;
  }
  if (state == ncclSuccess) {
    ncclCommDestroy(comm_);
  } else {
    ncclCommAbort(comm_);
  }
}

std::string NcclComm::LastError() const {
  std::shared_lock<std::shared_mutex> lock(comm_mutex_);
  return aborted_ ? std::string() : std::string(ncclGetLastError(comm_));
}

std::string NcclComm::Where(std::string_view operation) const {
  return std::string(operation) + " in the " + options_.group_name + " (" + phrases::RankList(options_.world_ranks) +
         ")";
}

Status NcclComm::Failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

void NcclComm::Abort(const Status& reason) { AbortWith(reason.ok() ? cluster::CancelledError("aborted") : reason); }

void NcclComm::AbortWith(const Status& reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failure_.ok()) return;
    failure_ = reason;
  }
  std::unique_lock<std::shared_mutex> exclusive(comm_mutex_);
  if (comm_ == nullptr || aborted_) return;
  aborted_ = true;
  // Ends the communicator's kernels, so a stream stuck on a dead peer drains.
  ncclCommAbort(comm_);
}

Status NcclComm::CheckPeer(std::string_view operation, int peer) const {
  if (peer < 0 || peer >= world_size() || peer == rank_) {
    return cluster::InvalidArgumentError(Where(operation) + ": " + std::to_string(peer) +
                                         " is not the group rank of a peer (group ranks 0.." +
                                         std::to_string(world_size() - 1) + ", this one " + std::to_string(rank_) + ")");
  }
  return Status::Ok();
}

Status NcclComm::WaitForComm(std::string_view operation, ncclResult_t result, std::chrono::milliseconds limit) {
  const Clock::time_point deadline = Clock::now() + limit;
  while (result == ncclInProgress) {
    if (Status failed = Failure(); !failed.ok()) return failed;
    if (Clock::now() >= deadline) {
      AbortWith(cluster::DeadlineExceededError(Where(operation) + ": NCCL did not finish within " +
                                               phrases::Seconds(limit) +
                                               ": a rank of the group hung, died, or makes other calls than this one"));
      return Failure();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const ncclResult_t query = WithComm([&](ncclComm_t comm) { return ncclCommGetAsyncError(comm, &result); });
    if (query != ncclSuccess) result = query;
  }
  if (result != ncclSuccess) {
    AbortWith(cluster::UnavailableError(Where(operation) + ": NCCL reported " + ncclGetErrorString(result) + ": " +
                                        LastError()));
    return Failure();
  }
  return Status::Ok();
}

Status NcclComm::Enqueued(std::string_view operation, ncclResult_t result) {
  CLUSTER_RETURN_IF_ERROR(WaitForComm(operation, result, options_.operation_timeout));
  cudaEvent_t done;
  if (cudaError_t e = cudaEventCreateWithFlags(&done, cudaEventDisableTiming); e != cudaSuccess) {
    return cluster::InternalError(Where(operation) + ": cudaEventCreate: " + CudaError(e));
  }
  if (cudaError_t e = cudaEventRecord(done, options_.stream); e != cudaSuccess) {
    cudaEventDestroy(done);
    return cluster::InternalError(Where(operation) + ": cudaEventRecord: " + CudaError(e));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  in_flight_.push_back({done, Clock::now(), std::string(operation)});
  return Status::Ok();
}

// The watchdog: NCCL's asynchronous errors, and operations that do not finish.
void NcclComm::Watch() {
  cudaSetDevice(options_.cuda_device);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, kWatchInterval, [&] { return stopping_; });
    if (stopping_ || !failure_.ok()) continue;
    while (!in_flight_.empty()) {
      InFlight& op = in_flight_.front();
      const cudaError_t state = cudaEventQuery(op.done);
      if (state == cudaErrorNotReady) break;
      cudaEventDestroy(op.done);
      in_flight_.pop_front();
    }
    Status problem;
    if (!in_flight_.empty() && Clock::now() - in_flight_.front().since > options_.operation_timeout) {
      problem = cluster::DeadlineExceededError(Where(in_flight_.front().operation) + ": did not finish within " +
                                               phrases::Seconds(options_.operation_timeout) +
                                               ": a rank of the group hung, died, or makes other calls than this one");
    }
    ncclResult_t async = ncclSuccess;
    if (WithComm([&](ncclComm_t comm) { return ncclCommGetAsyncError(comm, &async); }) == ncclSuccess &&
        async != ncclSuccess && async != ncclInProgress) {
      problem = cluster::UnavailableError(Where("an operation") + ": NCCL reported " + ncclGetErrorString(async) +
                                          ": " + LastError());
    }
    if (!problem.ok()) {
      lock.unlock();
      AbortWith(problem);
      lock.lock();
    }
  }
}

Status NcclComm::Synchronize() {
  constexpr std::string_view kOperation = "synchronize";
  const Clock::time_point deadline = Clock::now() + options_.operation_timeout;
  for (;;) {
    const cudaError_t state = cudaStreamQuery(options_.stream);
    if (Status failed = Failure(); !failed.ok()) return failed;
    if (state == cudaSuccess) return Status::Ok();
    if (state != cudaErrorNotReady) return cluster::InternalError(Where(kOperation) + ": " + CudaError(state));
    if (Clock::now() >= deadline) {
      AbortWith(cluster::DeadlineExceededError(Where(kOperation) + ": the stream did not drain within " +
                                               phrases::Seconds(options_.operation_timeout) +
                                               ": a rank of the group hung, died, or makes other calls than this one"));
      return Failure();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

Status NcclComm::AllReduceSum(Tensor& tensor) {
  CLUSTER_RETURN_IF_ERROR(Failure());
  if (tensor.num_elements() == 0) return Status::Ok();
  return Enqueued("all-reduce", WithComm([&](ncclComm_t comm) {
                    return ncclAllReduce(tensor.data(), tensor.data(), static_cast<std::size_t>(tensor.num_elements()),
                                         NcclType(tensor.dtype()), ncclSum, comm, options_.stream);
                  }));
}

Status NcclComm::AllGather(const Tensor& in, Tensor& out) {
  CLUSTER_RETURN_IF_ERROR(Failure());
  CLUSTER_RETURN_IF_ERROR(CheckAllGatherShapes(in, out, world_size()));
  if (in.num_elements() == 0) return Status::Ok();
  return Enqueued("all-gather", WithComm([&](ncclComm_t comm) {
                    return ncclAllGather(in.data(), out.data(), static_cast<std::size_t>(in.num_elements()),
                                         NcclType(in.dtype()), comm, options_.stream);
                  }));
}

Status NcclComm::Broadcast(Tensor& tensor, int root) {
  CLUSTER_RETURN_IF_ERROR(Failure());
  if (root < 0 || root >= world_size()) {
    return cluster::InvalidArgumentError(Where("broadcast") + ": root " + std::to_string(root) +
                                         " is not a group rank (0.." + std::to_string(world_size() - 1) + ")");
  }
  if (tensor.num_elements() == 0) return Status::Ok();
  return Enqueued("broadcast", WithComm([&](ncclComm_t comm) {
                    return ncclBroadcast(tensor.data(), tensor.data(), static_cast<std::size_t>(tensor.num_elements()),
                                         NcclType(tensor.dtype()), root, comm, options_.stream);
                  }));
}

Status NcclComm::Send(const Tensor& tensor, int peer) {
  CLUSTER_RETURN_IF_ERROR(Failure());
  CLUSTER_RETURN_IF_ERROR(CheckPeer("send", peer));
  if (tensor.num_elements() == 0) return Status::Ok();
  return Enqueued("send", WithComm([&](ncclComm_t comm) {
                    return ncclSend(tensor.data(), static_cast<std::size_t>(tensor.num_elements()),
                                    NcclType(tensor.dtype()), peer, comm, options_.stream);
                  }));
}

Status NcclComm::Recv(Tensor& tensor, int peer) {
  CLUSTER_RETURN_IF_ERROR(Failure());
  CLUSTER_RETURN_IF_ERROR(CheckPeer("recv", peer));
  if (tensor.num_elements() == 0) return Status::Ok();
  return Enqueued("recv", WithComm([&](ncclComm_t comm) {
                    return ncclRecv(tensor.data(), static_cast<std::size_t>(tensor.num_elements()),
                                    NcclType(tensor.dtype()), peer, comm, options_.stream);
                  }));
}

Status NcclComm::Barrier() {
  CLUSTER_RETURN_IF_ERROR(Failure());
  CLUSTER_RETURN_IF_ERROR(Enqueued("barrier", WithComm([&](ncclComm_t comm) {
                                     return ncclAllReduce(barrier_word_, barrier_word_, 1, ncclInt32, ncclSum, comm,
                                                          options_.stream);
                                   })));
  return Synchronize();
}

}  // namespace engine
