// World: this process's place in a tensor x pipeline parallel world, and
// the communicators that come with it.
//
// Join meets the other ranks at rank 0's rendezvous (rank 0 also runs it),
// then connects this rank's groups (parallel_layout.h):
//   control()        the world's ControlChannel: rank 0 sends step plans,
//                    the last stage returns sampled tokens;
//   tensor_group()   the T ranks of this stage (all-reduce, all-gather);
//   pipeline_group() the P ranks of this tp rank, one per stage, in stage
//                    order (Send/Recv to the previous and next stage).
// On CPU the groups are GlooComms (a group of one: a LocalComm); with
// device kCuda (a build with CUDA) they are NcclComms on the caller's
// stream (a group of one too, so that its copies run on the GPU); with
// kCudaThroughHost, GlooComms (or a LocalComm) behind a HostStagedComm, for
// ranks that share one GPU. A world of one on the CPU needs no rendezvous
// at all; on a GPU it meets itself on a private loopback rendezvous.
//
// Failure handling (docs/parallelism.md): when any rank dies or hangs, the
// rendezvous tells every rank which one within the peer timeout; the World
// then aborts its groups (so a collective or Recv in flight fails at once
// with that message instead of hanging), logs it, and runs the failure
// handler, which lets a rank that is not inside a collective (rank 0
// serving HTTP, a follower between steps) stop too.
//
// Thread safety: control() is thread-safe; each group Comm is used by one
// thread at a time (comm.h). Destroying the World says goodbye to the others.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/comm/comm.h"
#include "engine/comm/control_channel.h"
#include "engine/comm/parallel_layout.h"
#include "engine/status.h"

namespace engine {

class RendezvousClient;
class RendezvousServer;

enum class CommDevice {
  kCpu,              // host tensors, Gloo
  kCuda,             // device tensors, NCCL (builds with CUDA only)
  kCudaThroughHost,  // device tensors through host memory, Gloo: ranks sharing a GPU (HostStagedComm)
};

struct WorldOptions {
  int world_size = 1;
  int rank = 0;
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
  std::string rendezvous;                  // "ADDRESS:PORT" of rank 0's rendezvous: its cluster address
  std::string token;                       // the job's token (RendezvousTokenFromEnvironment)
  std::vector<std::string> allowed_peers;  // rank 0: IPs allowed to join (empty: any that has the token)
  std::string interface;                   // the cluster interface (GLOO_SOCKET_IFNAME), or ...
  std::string local_address;               // ... this host's cluster address (wins over interface, which may
                                           // carry several); both empty: the route to rank 0 decides
  std::chrono::milliseconds join_timeout{60'000};
  std::chrono::milliseconds heartbeat_interval{1'000};
  std::chrono::milliseconds peer_timeout{5'000};
  std::chrono::milliseconds operation_timeout{60'000};
  std::size_t max_message_bytes = std::size_t{16} << 20;
  CommDevice device = CommDevice::kCpu;
  int cuda_device = 0;          // kCuda: this rank's GPU (after CUDA_VISIBLE_DEVICES)
  void* cuda_stream = nullptr;  // kCuda, kCudaThroughHost: the cudaStream_t the groups work on
};

class World {
 public:
  // InvalidArgument for a layout that does not add up or a missing token;
  // otherwise the failure of the rendezvous (refused, ranks missing) or of
  // connecting a group.
  static StatusOr<std::unique_ptr<World>> Join(const WorldOptions& options);
  ~World();

  int rank() const { return rank_; }
  int world_size() const { return layout_.world_size(); }
  const ParallelLayout& layout() const { return layout_; }
  int stage() const { return layout_.StageOf(rank_); }
  int tp_rank() const { return layout_.TpRankOf(rank_); }

  ControlChannel& control() { return *control_; }
  Comm& tensor_group() { return *tensor_group_; }
  Comm& pipeline_group() { return *pipeline_group_; }

  // The world's first failure; OK while every rank is healthy.
  Status failure() const;
  // Runs once, after the groups are aborted, on the thread that learned of
  // the failure (at once if the world has already failed). Must not block.
  void SetFailureHandler(std::function<void(const Status&)> handler);

 private:
  World(int rank, ParallelLayout layout);
  // Meets the others (rank 0: also starts the rendezvous) and connects the groups.
  static StatusOr<std::unique_ptr<World>> Connect(std::unique_ptr<World> world, const WorldOptions& options);
  void Failed(const Status& failure);

  const int rank_;
  const ParallelLayout layout_;
  std::unique_ptr<RendezvousServer> server_;  // rank 0 only
  std::unique_ptr<RendezvousClient> client_;
  std::unique_ptr<ControlChannel> local_control_;  // a world of one
  ControlChannel* control_ = nullptr;
  std::unique_ptr<Comm> tensor_group_;
  std::unique_ptr<Comm> pipeline_group_;

  mutable std::mutex mutex_;
  Status failure_;
  std::function<void(const Status&)> failure_handler_;
};

}  // namespace engine
