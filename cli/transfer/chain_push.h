// Chain relay (`push --relay chain`): this machine sends each byte once, to
// the first host, which writes it and forwards it to the next while it
// receives, and so on down the chain (docs/push.md, "Chain relay").
//
// Control stays with clusterctl: every host keeps its own SSH session and
// receiver, which answers check/free/docker as in star mode and is told, per
// file, where its bytes come from (relay-accept) or, for the first host, to
// forward what it gets on stdin (relay-put). Each host resumes from its own
// verified offset and verifies the whole file before its rename; the stream
// starts at the smallest offset of the hosts that need the file.
#pragma once

#include <atomic>
#include <vector>

#include "cli/transfer/push_run.h"

namespace cluster::cli {

// Same contract as RunPush. Hosts that fail to connect or prepare drop out of
// the chain; a host that fails mid-file fails alone, and the hosts after it
// get the file on the next push.
std::vector<HostReport> RunChainPush(const inventory::Inventory& inventory, const std::vector<HostJob>& jobs,
                                     const LocalAgent& agent, const PushOptions& options, PushObserver& observer,
                                     const std::atomic<bool>& cancel);

}  // namespace cluster::cli
