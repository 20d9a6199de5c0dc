#include "engine/comm/gloo/gloo_comm.h"

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/rendezvous/context.h>
#include <gloo/transport/tcp/device.h>
#include <gloo/transport/unbound_buffer.h>
#include <gloo/types.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <regex>
#include <set>
#include <sstream>

#include "engine/comm/gloo/gloo_store.h"
#include "engine/comm/rendezvous/phrases.h"

namespace engine {
namespace {

using ReduceFunction = void (*)(void*, const void*, const void*, std::size_t);

// Point-to-point messages use a slot prefix of their own, apart from the
// collectives' (gloo/types.h uses 0x01-0x08).
constexpr std::uint8_t kSendRecvSlotPrefix = 0x40;

// How long a failed operation waits for the world to name the first failure.
constexpr std::chrono::milliseconds kFirstCauseWait{1000};

template <typename T>
void Sum(void* c, const void* a, const void* b, std::size_t n) {
  T* out = static_cast<T*>(c);
  const T* x = static_cast<const T*>(a);
  const T* y = static_cast<const T*>(b);
  for (std::size_t i = 0; i < n; ++i) out[i] = x[i] + y[i];
}

void SumF16(void* c, const void* a, const void* b, std::size_t n) {
  auto* out = static_cast<gloo::float16*>(c);
  const auto* x = static_cast<const gloo::float16*>(a);
  const auto* y = static_cast<const gloo::float16*>(b);
  for (std::size_t i = 0; i < n; ++i) out[i] = gloo::cpu_float2half_rn(gloo::cpu_half2float(x[i]) + gloo::cpu_half2float(y[i]));
}

float BFloat16ToFloat(std::uint16_t v) {
  const std::uint32_t bits = std::uint32_t{v} << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// Round to nearest, ties to even; NaN stays NaN.
std::uint16_t FloatToBFloat16(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

void SumBF16(void* c, const void* a, const void* b, std::size_t n) {
  auto* out = static_cast<std::uint16_t*>(c);
  const auto* x = static_cast<const std::uint16_t*>(a);
  const auto* y = static_cast<const std::uint16_t*>(b);
  for (std::size_t i = 0; i < n; ++i) out[i] = FloatToBFloat16(BFloat16ToFloat(x[i]) + BFloat16ToFloat(y[i]));
}

// Gloo writes to its sockets with writev(2), which cannot ask for
// MSG_NOSIGNAL: without this, a peer that dies mid-send would end this
// process with SIGPIPE instead of an error naming the peer. Only a default
// disposition is changed; a program's own handler stays.
void IgnoreSigpipe() {
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
}

// "[/build/gloo/transport/tcp/pair.cc:598] Connection closed by peer [127.0.0.1]:12345"
//   -> "Connection closed by peer [127.0.0.1]:12345"
std::string WithoutSourceLocation(const std::string& what) {
  if (what.size() > 1 && what[0] == '[') {
    const std::size_t end = what.find("] ");
    if (end != std::string::npos) return what.substr(end + 2);
  }
  return what;
}

}  // namespace

StatusOr<std::unique_ptr<GlooComm>> GlooComm::Create(RendezvousClient& rendezvous, const GlooCommOptions& options) {
  const std::string group = "the " + options.group_name + " (" + phrases::RankList(options.world_ranks) + ")";
  const auto me = std::find(options.world_ranks.begin(), options.world_ranks.end(), options.world_rank);
  if (me == options.world_ranks.end() ||
      std::set<int>(options.world_ranks.begin(), options.world_ranks.end()).size() != options.world_ranks.size()) {
    return cluster::InvalidArgumentError("gloo: " + group + " must list each rank once, rank " +
                                         std::to_string(options.world_rank) + " among them");
  }
  std::unique_ptr<GlooComm> comm(new GlooComm(options, static_cast<int>(me - options.world_ranks.begin())));
  IgnoreSigpipe();

  // This host's cluster address when known wins over the interface, whose
  // first address may not be the one the peers reach (loopback carries several).
  gloo::transport::tcp::attr attr;
  if (!options.local_address.empty() || options.interface.empty()) {
    attr.hostname = options.local_address.empty() ? rendezvous.local_address() : options.local_address;
  } else {
    attr.iface = options.interface;
  }
  const std::string prefix = "gloo/" + options.group_name + "/" + phrases::JoinRanks(options.world_ranks) + "/";
  GlooStore store(rendezvous, prefix, options.connect_timeout);
  try {
    auto device = gloo::transport::tcp::CreateDevice(attr);
    auto context = std::make_shared<gloo::rendezvous::Context>(comm->rank_, comm->world_size());
    // A pair waits for its peer's connection up to 5 x the context's
    // timeout; the store waits use connect_timeout themselves.
    context->setTimeout(std::max(options.connect_timeout / 5, std::chrono::milliseconds(1)));
    context->connectFullMesh(store, device);
    context->setTimeout(options.operation_timeout);
    comm->context_ = std::move(context);
  } catch (const std::exception& e) {
    // The store's own failure (a rank that failed meanwhile, a timeout) says more than Gloo's exception.
    const Status& cause = store.failure();
    const std::string from = attr.iface.empty() ? attr.hostname : "interface " + attr.iface;
    const std::string why = cause.ok() ? WithoutSourceLocation(e.what()) : cause.message();
    return Status(cause.ok() ? cluster::StatusCode::kUnavailable : cause.code(),
                  "gloo: connecting " + group + " from " + from + ": " + why);
  }
  CLUSTER_RETURN_IF_ERROR(comm->PublishEndpoints(rendezvous, prefix));
  return comm;
}

// Each member publishes its end of every connection; a member reads its
// peers' ends of the connections to it.
Status GlooComm::PublishEndpoints(RendezvousClient& rendezvous, const std::string& prefix) {
  std::ostringstream mine;
  for (int peer = 0; peer < world_size(); ++peer) {
    if (peer != rank_) mine << peer << ' ' << context_->getPair(peer)->address().str() << '\n';
  }
  const std::string key = prefix + "endpoints/";
  CLUSTER_RETURN_IF_ERROR(rendezvous.Set(key + std::to_string(rank_), mine.str()));
  for (int peer = 0; peer < world_size(); ++peer) {
    if (peer == rank_) continue;
    auto theirs = rendezvous.Get(key + std::to_string(peer), options_.connect_timeout);
    if (!theirs.ok()) return theirs.status().WithContext("gloo: connecting the " + options_.group_name);
    std::istringstream lines(*theirs);
    int to = -1;
    std::string endpoint;
    while (lines >> to >> endpoint) {
      if (to == rank_) peer_by_endpoint_[endpoint] = options_.world_ranks[static_cast<std::size_t>(peer)];
    }
  }
  return Status::Ok();
}

GlooComm::~GlooComm() = default;

std::string GlooComm::Where(std::string_view operation) const {
  return std::string(operation) + " in the " + options_.group_name + " (" + phrases::RankList(options_.world_ranks) +
         ")";
}

Status GlooComm::Aborted(std::string_view operation) const {
  std::lock_guard<std::mutex> lock(abort_mutex_);
  if (abort_reason_.ok()) return Status::Ok();
  return Status(abort_reason_.code(), Where(operation) + ": " + abort_reason_.message());
}

void GlooComm::Abort(const Status& reason) {
  {
    std::lock_guard<std::mutex> lock(abort_mutex_);
    if (!abort_reason_.ok()) return;
    abort_reason_ = reason.ok() ? cluster::CancelledError("aborted") : reason;
    abort_changed_.notify_all();
  }
  if (!context_) return;
  // Gloo has no public abort. A receive that times out makes Gloo's TCP
  // context signal every pair: each pending operation of this group fails at
  // once, and the connections close, so the peers' operations fail too. A
  // 1 ms receive on a fresh buffer that no one sends to is such a timeout.
  try {
    char byte = 0;
    auto buffer = context_->createUnboundBuffer(&byte, 1);
    buffer->waitRecv(nullptr, std::chrono::milliseconds(1));
  } catch (const std::exception&) {
    // The expected timeout.
  }
}

Status GlooComm::CheckPeer(std::string_view operation, int peer) const {
  if (peer < 0 || peer >= world_size() || peer == rank_) {
    return cluster::InvalidArgumentError(Where(operation) + ": " + std::to_string(peer) +
                                         " is not the group rank of a peer (group ranks 0.." +
                                         std::to_string(world_size() - 1) + ", this one " + std::to_string(rank_) + ")");
  }
  return Status::Ok();
}

Status GlooComm::Failed(std::string_view operation, const std::exception& error) const {
  const std::string what = WithoutSourceLocation(error.what());
  if (what.find("Timed out waiting") == std::string::npos) {
    // A connection that failed may be the echo of another rank's failure
    // (a peer whose group was aborted closes its connections): the world's
    // liveness names the first failure and reaches this group moments later.
    std::unique_lock<std::mutex> lock(abort_mutex_);
    abort_changed_.wait_for(lock, kFirstCauseWait, [&] { return !abort_reason_.ok(); });
  }
  if (Status aborted = Aborted(operation); !aborted.ok()) return aborted;
  // Gloo names a peer by its end of the connection: "[127.0.0.1]:12345".
  static const std::regex kEndpoint(R"(\[[0-9A-Fa-f:.]+\]:[0-9]+)");
  std::smatch match;
  if (std::regex_search(what, match, kEndpoint)) {
    const std::string endpoint = match.str();
    if (auto peer = peer_by_endpoint_.find(endpoint); peer != peer_by_endpoint_.end()) {
      const std::string ip = endpoint.substr(1, endpoint.find(']') - 1);
      std::string why = what;
      if (what.find("Connection closed by peer") != std::string::npos || what.find("reset by peer") != std::string::npos ||
          what.find("Broken pipe") != std::string::npos) {
        why = "closed the connection: the process exited or was killed";
      }
      return cluster::UnavailableError(Where(operation) + ": rank " + std::to_string(peer->second) + " (" + ip + ") " +
                                       why);
    }
  }
  if (what.find("Timed out waiting") != std::string::npos) {
    return cluster::DeadlineExceededError(Where(operation) + ": no answer within " +
                                          phrases::Seconds(options_.operation_timeout) +
                                          ": a rank of the group hung, died, or makes other calls than this one");
  }
  if (what.find("Application timeout caused pair closure") != std::string::npos) {
    return cluster::UnavailableError(Where(operation) + ": the group was closed after an earlier timeout");
  }
  return cluster::UnavailableError(Where(operation) + ": " + what);
}

Status GlooComm::AllReduceSum(Tensor& tensor) {
  constexpr std::string_view kOperation = "all-reduce";
  CLUSTER_RETURN_IF_ERROR(Aborted(kOperation));
  if (world_size() == 1 || tensor.num_elements() == 0) return Status::Ok();
  gloo::AllreduceOptions options(context_);
  const auto n = static_cast<std::size_t>(tensor.num_elements());
  switch (tensor.dtype()) {
    case DType::kF32:
      options.setOutput(static_cast<float*>(tensor.data()), n);
      options.setReduceFunction(static_cast<ReduceFunction>(&Sum<float>));
      break;
    case DType::kI32:
      options.setOutput(static_cast<std::int32_t*>(tensor.data()), n);
      options.setReduceFunction(static_cast<ReduceFunction>(&Sum<std::int32_t>));
      break;
    case DType::kF16:
      options.setOutput(static_cast<gloo::float16*>(tensor.data()), n);
      options.setReduceFunction(&SumF16);
      break;
    case DType::kBF16:
      options.setOutput(static_cast<std::uint16_t*>(tensor.data()), n);
      options.setReduceFunction(&SumBF16);
      break;
  }
  options.setTimeout(options_.operation_timeout);
  try {
    gloo::allreduce(options);
  } catch (const std::exception& e) {
    return Failed(kOperation, e);
  }
  return Status::Ok();
}

Status GlooComm::AllGather(const Tensor& in, Tensor& out) {
  constexpr std::string_view kOperation = "all-gather";
  CLUSTER_RETURN_IF_ERROR(Aborted(kOperation));
  CLUSTER_RETURN_IF_ERROR(CheckAllGatherShapes(in, out, world_size()));
  if (in.num_bytes() == 0) return Status::Ok();
  gloo::AllgatherOptions options(context_);
  // Gloo only reads the input.
  options.setInput(static_cast<std::uint8_t*>(const_cast<void*>(in.data())), in.num_bytes());
  options.setOutput(static_cast<std::uint8_t*>(out.data()), out.num_bytes());
  options.setTimeout(options_.operation_timeout);
  try {
    gloo::allgather(options);
  } catch (const std::exception& e) {
    return Failed(kOperation, e);
  }
  return Status::Ok();
}

Status GlooComm::Broadcast(Tensor& tensor, int root) {
  constexpr std::string_view kOperation = "broadcast";
  CLUSTER_RETURN_IF_ERROR(Aborted(kOperation));
  if (root < 0 || root >= world_size()) {
    return cluster::InvalidArgumentError(Where(kOperation) + ": root " + std::to_string(root) +
                                         " is not a group rank (0.." + std::to_string(world_size() - 1) + ")");
  }
  if (world_size() == 1 || tensor.num_bytes() == 0) return Status::Ok();
  gloo::BroadcastOptions options(context_);
  options.setOutput(static_cast<std::uint8_t*>(tensor.data()), tensor.num_bytes());
  options.setRoot(root);
  options.setTimeout(options_.operation_timeout);
  try {
    gloo::broadcast(options);
  } catch (const std::exception& e) {
    return Failed(kOperation, e);
  }
  return Status::Ok();
}

Status GlooComm::Send(const Tensor& tensor, int peer) {
  constexpr std::string_view kOperation = "send";
  CLUSTER_RETURN_IF_ERROR(Aborted(kOperation));
  CLUSTER_RETURN_IF_ERROR(CheckPeer(kOperation, peer));
  if (tensor.num_bytes() == 0) return Status::Ok();
  try {
    auto buffer = context_->createUnboundBuffer(const_cast<void*>(tensor.data()), tensor.num_bytes());
    buffer->send(peer, gloo::Slot::build(kSendRecvSlotPrefix, 0));
    if (!buffer->waitSend(options_.operation_timeout)) return Aborted(kOperation);
  } catch (const std::exception& e) {
    return Failed(kOperation, e);
  }
  return Status::Ok();
}

Status GlooComm::Recv(Tensor& tensor, int peer) {
  constexpr std::string_view kOperation = "recv";
  CLUSTER_RETURN_IF_ERROR(Aborted(kOperation));
  CLUSTER_RETURN_IF_ERROR(CheckPeer(kOperation, peer));
  if (tensor.num_bytes() == 0) return Status::Ok();
  try {
    auto buffer = context_->createUnboundBuffer(tensor.data(), tensor.num_bytes());
    buffer->recv(peer, gloo::Slot::build(kSendRecvSlotPrefix, 0));
    if (!buffer->waitRecv(options_.operation_timeout)) return Aborted(kOperation);
  } catch (const std::exception& e) {
    return Failed(kOperation, e);
  }
  return Status::Ok();
}

Status GlooComm::Barrier() {
  constexpr std::string_view kOperation = "barrier";
  CLUSTER_RETURN_IF_ERROR(Aborted(kOperation));
  if (world_size() == 1) return Status::Ok();
  gloo::BarrierOptions options(context_);
  options.setTimeout(options_.operation_timeout);
  try {
    gloo::barrier(options);
  } catch (const std::exception& e) {
    return Failed(kOperation, e);
  }
  return Status::Ok();
}

}  // namespace engine
