// LocalTransport: a host that is this machine (`transport: local`). Commands
// run as child processes through /bin/sh; no SSH, no copy of the agent.
#pragma once

#include "cli/transfer/transport.h"

namespace cluster::cli {

class LocalTransport : public Transport {
 public:
  StatusOr<std::unique_ptr<RemoteProcess>> Start(const std::string& command) override;
  bool IsLocal() const override { return true; }
};

}  // namespace cluster::cli
