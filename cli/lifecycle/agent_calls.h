// Typed calls to an agent: send one request, decode its reply.
#pragma once

#include <chrono>

#include "common/inventory/inventory.h"
#include "common/status.h"
#include "control/channel.h"

namespace cluster::cli {

template <typename Reply, typename Decode>
StatusOr<Reply> CallAgent(control::ControlClient& client, const control::Request& request, Decode decode,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  CLUSTER_ASSIGN_OR_RETURN(control::ReplyFrame frame, client.Call(request, timeout));
  return decode(frame.body);
}

}  // namespace cluster::cli
