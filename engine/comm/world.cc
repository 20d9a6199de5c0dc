#include "engine/comm/world.h"

#include <fmt/format.h>

#include <random>

#include "common/logging.h"
#include "engine/comm/gloo/gloo_comm.h"
#include "engine/comm/local_comm.h"
#include "engine/comm/rendezvous/rendezvous_client.h"
#include "engine/comm/rendezvous/rendezvous_server.h"
#include "engine/comm/rendezvous/socket.h"
#include "engine/comm/rendezvous/token.h"
#if CLUSTER_HAVE_NCCL
#include "engine/comm/nccl/nccl_comm.h"
#endif
#if CLUSTER_HAVE_HOST_STAGED
#include "engine/comm/staged/host_staged_comm.h"
#endif

namespace engine {
namespace {

// The Comm of one group. A group of this rank alone is a LocalComm on the
// host; GPU tensors need a Comm that copies on the GPU (an NCCL group of
// one, or the host-staged LocalComm).
StatusOr<std::unique_ptr<Comm>> MakeGroup(RendezvousClient& client, const WorldOptions& o, std::string name,
                                          std::vector<int> ranks, const std::string& local_address) {
  if (ranks.size() == 1 && o.device == CommDevice::kCpu) return std::unique_ptr<Comm>(std::make_unique<LocalComm>());
  if (o.device == CommDevice::kCuda) {
#if CLUSTER_HAVE_NCCL
    NcclCommOptions options;
    options.group_name = std::move(name);
    options.world_ranks = std::move(ranks);
    options.world_rank = o.rank;
    options.cuda_device = o.cuda_device;
    options.stream = static_cast<cudaStream_t>(o.cuda_stream);
    options.connect_timeout = o.join_timeout;
    options.operation_timeout = o.operation_timeout;
    CLUSTER_ASSIGN_OR_RETURN(std::unique_ptr<NcclComm> comm, NcclComm::Create(client, options));
    return std::unique_ptr<Comm>(std::move(comm));
#else
    return cluster::FailedPreconditionError(
        "this infer-engine was built without CUDA, so it has no NCCL: use --device cpu");
#endif
  }
#if !CLUSTER_HAVE_HOST_STAGED
  if (o.device == CommDevice::kCudaThroughHost) {
    return cluster::FailedPreconditionError("this infer-engine was built without CUDA: use --device cpu");
  }
#endif
  std::unique_ptr<Comm> host;
  if (ranks.size() == 1) {
    host = std::make_unique<LocalComm>();
  } else {
    GlooCommOptions options;
    options.group_name = std::move(name);
    options.world_ranks = std::move(ranks);
    options.world_rank = o.rank;
    options.interface = o.interface;
    options.local_address = local_address;
    options.connect_timeout = o.join_timeout;
    options.operation_timeout = o.operation_timeout;
    CLUSTER_ASSIGN_OR_RETURN(host, GlooComm::Create(client, options));
  }
#if CLUSTER_HAVE_HOST_STAGED
  if (o.device == CommDevice::kCudaThroughHost) {
    return std::unique_ptr<Comm>(std::make_unique<HostStagedComm>(std::move(host), static_cast<cudaStream_t>(o.cuda_stream)));
  }
#endif
  return host;
}

// 32 hex digits from the system's random source.
std::string PrivateToken() {
  std::random_device random;
  std::string token;
  for (int i = 0; i < 8; ++i) token += fmt::format("{:04x}", random() & 0xffff);
  return token;
}

}  // namespace

World::World(int rank, ParallelLayout layout) : rank_(rank), layout_(layout) {}

StatusOr<std::unique_ptr<World>> World::Join(const WorldOptions& o) {
  CLUSTER_ASSIGN_OR_RETURN(ParallelLayout layout,
                           ParallelLayout::Create(o.world_size, o.tensor_parallel, o.pipeline_parallel));
  if (o.rank < 0 || o.rank >= o.world_size) {
    return cluster::InvalidArgumentError("rank " + std::to_string(o.rank) + " is outside the world of " +
                                         std::to_string(o.world_size) + " ranks");
  }
  std::unique_ptr<World> world(new World(o.rank, layout));
  if (o.world_size == 1 && o.device == CommDevice::kCpu) {
    world->local_control_ = std::make_unique<LocalControlChannel>();
    world->control_ = world->local_control_.get();
    world->tensor_group_ = std::make_unique<LocalComm>();
    world->pipeline_group_ = std::make_unique<LocalComm>();
    return world;
  }
  if (o.world_size == 1) {
    // On a GPU even a world of one needs its groups (NCCL's copies run on
    // the GPU), and they meet through a rendezvous: a private one on loopback.
    WorldOptions alone = o;
    alone.rendezvous = "127.0.0.1:0";
    alone.token = PrivateToken();
    alone.interface.clear();
    alone.local_address.clear();
    return Connect(std::move(world), alone);
  }
  if (o.rendezvous.empty()) {
    return cluster::InvalidArgumentError("a world of " + std::to_string(o.world_size) +
                                         " ranks needs --rendezvous ADDRESS:PORT (rank 0's cluster address)");
  }
  if (o.token.empty()) {
    return cluster::InvalidArgumentError(std::string("a world of ") + std::to_string(o.world_size) + " ranks needs " +
                                         kRendezvousTokenVariable + " (the job's token) in the environment");
  }
  return Connect(std::move(world), o);
}

StatusOr<std::unique_ptr<World>> World::Connect(std::unique_ptr<World> world, const WorldOptions& o) {
  const ParallelLayout& layout = world->layout_;
  std::string local_address = o.local_address;
  if (local_address.empty() && !o.interface.empty()) {
    CLUSTER_ASSIGN_OR_RETURN(local_address, net::InterfaceAddress(o.interface));
  }

  if (o.rank == 0) {
    RendezvousServerOptions server;
    server.address = o.rendezvous;
    server.world_size = o.world_size;
    server.token = o.token;
    server.allowed_peers = o.allowed_peers;
    server.join_timeout = o.join_timeout;
    server.heartbeat_interval = o.heartbeat_interval;
    server.peer_timeout = o.peer_timeout;
    server.max_message_bytes = o.max_message_bytes;
    CLUSTER_ASSIGN_OR_RETURN(world->server_, RendezvousServer::Start(server));
  }
  RendezvousClientOptions client;
  client.address = world->server_ ? world->server_->address() : o.rendezvous;  // (the port, when 0 was asked for)
  client.world_size = o.world_size;
  client.rank = o.rank;
  client.token = o.token;
  client.local_address = local_address;
  client.connect_timeout = o.join_timeout;
  client.heartbeat_interval = o.heartbeat_interval;
  client.peer_timeout = o.peer_timeout;
  client.max_message_bytes = o.max_message_bytes;
  CLUSTER_ASSIGN_OR_RETURN(world->client_, RendezvousClient::Connect(client));
  CLUSTER_RETURN_IF_ERROR(world->client_->Join());
  world->control_ = world->client_.get();

  // Every rank connects its tensor group, then its pipeline group.
  const int stage = layout.StageOf(o.rank);
  const int tp_rank = layout.TpRankOf(o.rank);
  CLUSTER_ASSIGN_OR_RETURN(world->tensor_group_,
                           MakeGroup(*world->client_, o, "tensor group of stage " + std::to_string(stage),
                                     layout.TensorGroup(stage), local_address));
  CLUSTER_ASSIGN_OR_RETURN(world->pipeline_group_,
                           MakeGroup(*world->client_, o, "pipeline group of tp rank " + std::to_string(tp_rank),
                                     layout.PipelineGroup(tp_rank), local_address));
  world->client_->SetFailureHandler([w = world.get()](const Status& failure) { w->Failed(failure); });
  return world;
}

World::~World() {
  // The client first: it says goodbye and stops its thread, so no failure
  // handler runs while the groups go away; rank 0's server last, so that
  // the others hear the goodbye.
  client_.reset();
  tensor_group_.reset();
  pipeline_group_.reset();
  server_.reset();
}

void World::Failed(const Status& failure) {
  tensor_group_->Abort(failure);
  pipeline_group_->Abort(failure);
  LOG_ERROR("rank {}: the world failed: {}", rank_, failure.message());
  std::function<void(const Status&)> handler;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    failure_ = failure;
    handler = std::move(failure_handler_);
    failure_handler_ = nullptr;
  }
  if (handler) handler(failure);
}

Status World::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

void World::SetFailureHandler(std::function<void(const Status&)> handler) {
  Status failed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure_.ok()) {
      failure_handler_ = std::move(handler);
      return;
    }
    failed = failure_;
  }
  if (handler) handler(failed);
}

}  // namespace engine
