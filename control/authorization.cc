#include "control/authorization.h"

#include "common/untrusted_text.h"

namespace cluster::control {
namespace {

std::string Presented(PeerRole role, const std::string& peer_name) {
  switch (role) {
    case PeerRole::kOperator: return "the operator's certificate";
    case PeerRole::kAgent: return "the agent certificate of " + Excerpt(peer_name);
    case PeerRole::kNone: break;
  }
  return "a certificate without a role (" + Excerpt(peer_name) +
         "; issued by an older clusterctl: run `clusterctl up` again to renew it)";
}

}  // namespace

Status Authorize(const Request& request, PeerRole role, const std::string& peer_name) {
  const std::string type = RequestType(request);
  auto refuse = [&](const std::string& needs) {
    return PermissionDeniedError("'" + type + "' needs " + needs + "; this connection presented " +
                                 Presented(role, peer_name));
  };
  if (std::holds_alternative<HelloRequest>(request)) return Status::Ok();
  if (const auto* failure = std::get_if<GangFailureRequest>(&request)) {
    if (role != PeerRole::kAgent) return refuse("an agent's certificate");
    if (failure->failure.host != peer_name) {
      return PermissionDeniedError("'gang-failure' from " + Excerpt(peer_name) + " names host " +
                                   Excerpt(failure->failure.host) +
                                   "; an agent reports only the failures of its own units");
    }
    return Status::Ok();
  }
  // The head's agent restarts the gang: only the deployment the receiving
  // agent already runs, from the request it keeps (docs/lifecycle.md, "Restarts").
  if (std::holds_alternative<GangRestartRequest>(request)) {
    if (role != PeerRole::kAgent) return refuse("an agent's certificate");
    return Status::Ok();
  }
  if (role != PeerRole::kOperator) return refuse("the operator's certificate");
  return Status::Ok();
}

}  // namespace cluster::control
