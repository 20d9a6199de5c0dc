// Who may ask an agent for what (docs/agent-protocol.md, "Who may ask for
// what"). Every peer of the agent protocol holds a certificate of the
// cluster CA, but not every one may change state:
//
//   request        operator   agent (a host's own certificate)
//   hello          yes        yes   (reachability probes between agents)
//   gang-failure   no         yes, naming itself as the failed host
//   gang-restart   no         yes   (the head's agent restarting the gang)
//   everything     yes        no    (facts, probe, start, status, logs,
//   else                             stop, shutdown)
//
// So root on one host, who can read that host's agent key, cannot start,
// stop or shut down the units of any other host, nor read their logs.
// A certificate without a role (issued before roles existed) may only say
// hello; `clusterctl` issues its certificates anew.
#pragma once

#include <string>

#include "common/status.h"
#include "control/messages.h"
#include "control/pki.h"

namespace cluster::control {

// OK when a peer with `role` whose certificate names `peer_name` (its
// common name) may make `request`; else PermissionDenied saying what the
// request needs and what the peer presented, e.g.
//   'start' needs the operator's certificate; this connection presented the agent certificate of h2
Status Authorize(const Request& request, PeerRole role, const std::string& peer_name);

}  // namespace cluster::control
