// Getting the agent onto a host, in one of two forms:
//   - the host bundle (docs/install.md): a tarball of clusterd, infer-engine
//     and every library they need. It is streamed to
//     ~/.cache/clusterd/VERSION-SHA16.tar.part (resuming a partial copy),
//     checked there against its SHA-256 with the host's `sha256sum` before
//     anything in it runs, unpacked, its files checked against the bundle's
//     SHA256SUMS, and renamed into place as ~/.cache/clusterd/VERSION-SHA16/.
//   - the bare clusterd binary (a build tree): copied to
//     ~/.cache/clusterd/VERSION-HASH16/clusterd over an exec channel, verified
//     by its content hash (computed by the copied binary itself, then compared
//     here) and renamed into place; the engine is copied beside it by `up`.
//     The hash it computed is then written to CLUSTERD_HASH beside it, last.
// A host that already has the same install is recognised and not copied
// again: by BUNDLE_SHA256 or CLUSTERD_HASH, which exist only once the checks
// of the install passed (no host reads the whole install again per push).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cli/transfer/transport.h"
#include "common/manifest.h"
#include "common/status.h"

namespace cluster::cli {

struct LocalAgent {
  std::filesystem::path path;    // the clusterd binary on this machine; empty for a bundle
  std::filesystem::path bundle;  // the host bundle tarball; empty for a bare binary
  std::string hash;              // the bundle's SHA-256, or the binary's content hash
  std::string version;           // clusterctl's version; clusterd is built with it
};

// Where the agent comes from, first match wins: `bundle_path`, `agent_path`,
// $CLUSTERCTL_BUNDLE, $CLUSTERCTL_AGENT, the one clusterd-VERSION-*.tar in
// ../share/clusterctl/bundles beside this program (an installed clusterctl),
// then clusterd beside this program (bin/clusterd, or ../agent/clusterd in a
// build tree). A bundle with a NAME.tar.sha256 beside it must match it.
// With `cache`, a bare binary's hash comes from it while the binary's path,
// size and mtime are unchanged (push: no read of the binary per run).
StatusOr<LocalAgent> FindLocalAgent(const std::string& agent_path, const std::string& bundle_path,
                                    const std::string& version, HashCache* cache = nullptr);

// Makes sure the host can run the agent; returns the shell word that runs it
// there (e.g. "$HOME/.cache/clusterd/0.1.0-0123456789abcdef/bin/clusterd").
// A bare binary on a local host runs in place.
StatusOr<std::string> EnsureAgent(Transport& transport, const LocalAgent& agent);

// Removes the agent installs in the host's ~/.cache/clusterd other than
// `agent`'s that no running process executes from: what an upgrade leaves.
// Returns the names it removed.
StatusOr<std::vector<std::string>> PruneOtherAgents(Transport& transport, const LocalAgent& agent);

}  // namespace cluster::cli
