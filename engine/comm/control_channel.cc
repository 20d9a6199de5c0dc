#include "engine/comm/control_channel.h"

namespace engine {
namespace {

Status NoPeer(const char* what, int rank) {
  return cluster::InvalidArgumentError(std::string(what) + ": rank " + std::to_string(rank) +
                                       " is not a peer: this process is a world of 1");
}

}  // namespace

Status LocalControlChannel::Send(int to, std::string_view /*message*/) { return NoPeer("send", to); }

StatusOr<std::string> LocalControlChannel::Receive(int from) { return NoPeer("receive", from); }

StatusOr<std::string> LocalControlChannel::Receive(int from, std::chrono::milliseconds /*timeout*/) {
  return NoPeer("receive", from);
}

Status LocalControlChannel::Broadcast(std::string& /*message*/, int root) {
  if (root != 0) {
    return cluster::InvalidArgumentError("broadcast: root " + std::to_string(root) +
                                         " is not a rank of this world of 1 (only rank 0)");
  }
  return Status::Ok();
}

}  // namespace engine
