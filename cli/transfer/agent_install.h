// Getting the receiver onto a host: the clusterd binary next to clusterctl is
// copied to ~/.cache/clusterd/VERSION-HASH16/clusterd over an exec channel,
// verified by its content hash (computed by the copied binary itself, then
// compared here) and renamed into place. A host that already has the same
// binary at that path is verified the same way and not copied again.
#pragma once

#include <filesystem>
#include <string>

#include "cli/transfer/transport.h"
#include "common/status.h"

namespace cluster::cli {

struct LocalAgent {
  std::filesystem::path path;  // the clusterd binary on this machine
  std::string hash;            // its content hash
  std::string version;         // clusterctl's version; clusterd is built with it
};

// Finds clusterd: `explicit_path` if given, else $CLUSTERCTL_AGENT, else beside
// this program (bin/clusterd, or ../agent/clusterd in a build tree).
StatusOr<LocalAgent> FindLocalAgent(const std::string& explicit_path, const std::string& version);

// Makes sure the host can run the agent; returns the shell word that runs it
// there (e.g. "$HOME/.cache/clusterd/0.1.0-0123456789abcdef/clusterd").
StatusOr<std::string> EnsureAgent(Transport& transport, const LocalAgent& agent);

}  // namespace cluster::cli
