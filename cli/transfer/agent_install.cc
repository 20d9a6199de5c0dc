#include "cli/transfer/agent_install.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "common/content_hash.h"
#include "common/files.h"
#include "common/subprocess.h"

namespace cluster::cli {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kChunk = 1 << 20;

// The folder name of an install below ~/.cache/clusterd: VERSION-HASH16.
std::string InstallId(const LocalAgent& agent) { return fmt::format("{}-{}", agent.version, agent.hash.substr(0, 16)); }

bool IsHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

StatusOr<LocalAgent> OpenBundle(const fs::path& bundle, const std::string& version) {
  std::error_code ec;
  if (!fs::is_regular_file(bundle, ec)) {
    return NotFoundError(fmt::format("the host bundle {} is not a file; build it with `ninja host-bundle` "
                                     "(docs/install.md) or pass --bundle PATH", bundle.string()));
  }
  CLUSTER_ASSIGN_OR_RETURN(ProcessResult sum, RunProcess({"sha256sum", "--", bundle.string()}));
  const std::string hash = sum.out.substr(0, std::min<std::size_t>(64, sum.out.size()));
  if (sum.exit_code != 0 || !IsHex64(hash))
    return UnavailableError(fmt::format("cannot compute the SHA-256 of {}: {}", bundle.string(), TrimOutput(sum.err)));
  const fs::path recorded_file = bundle.string() + ".sha256";
  if (fs::exists(recorded_file, ec)) {
    CLUSTER_ASSIGN_OR_RETURN(std::string recorded, ReadFile(recorded_file));
    if (recorded.substr(0, 64) != hash) {
      return DataLossError(fmt::format("{} has SHA-256 {}, but {} records {}: the copy is damaged or truncated; "
                                       "carry the bundle in again", bundle.string(), hash, recorded_file.string(),
                                       TrimOutput(recorded.substr(0, 64))));
    }
  }
  return LocalAgent{"", bundle, hash, version};
}

// The one clusterd-VERSION-*.tar in `dir` (not a -debug.tar), or "" when there is none.
StatusOr<fs::path> BundleIn(const fs::path& dir, const std::string& version) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    auto ends_with = [&](const std::string& tail) {
      return name.size() > tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
    };
    if (name.rfind("clusterd-" + version + "-", 0) == 0 && ends_with(".tar") && !ends_with("-debug.tar"))
      found.push_back(e.path());
  }
  if (found.size() > 1) {
    std::sort(found.begin(), found.end());
    std::string names;
    for (const auto& f : found) names += (names.empty() ? "" : ", ") + f.filename().string();
    return FailedPreconditionError(
        fmt::format("{} holds several host bundles ({}); choose one with --bundle PATH", dir.string(), names));
  }
  return found.empty() ? fs::path() : found.front();
}

// Sends `bundle` to `part` on the host, appending to what is there.
Status SendBundle(Transport& transport, const fs::path& bundle, const std::string& part) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(bundle, ec);
  if (ec) return UnavailableError(fmt::format("cannot read {}: {}", bundle.string(), ec.message()));
  CLUSTER_ASSIGN_OR_RETURN(
      CommandResult have,
      transport.Run(fmt::format("umask 077; mkdir -p \"$HOME/.cache/clusterd\"; if [ -f {0} ]; then wc -c < {0}; "
                                "else echo 0; fi",
                                part)));
  std::uintmax_t offset = 0;
  try {
    offset = std::stoull(TrimOutput(have.out));
  } catch (const std::exception&) {
    return UnavailableError(fmt::format("cannot prepare ~/.cache/clusterd on the host: {}", TrimOutput(have.err)));
  }
  if (offset == size) return Status::Ok();
  if (offset > size) offset = 0;  // not a prefix of this bundle: start over
  std::ifstream in(bundle, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  if (!in) return UnavailableError(fmt::format("cannot read {}", bundle.string()));
  CLUSTER_ASSIGN_OR_RETURN(std::unique_ptr<RemoteProcess> cat,
                           transport.Start(fmt::format("umask 077; cat {} {}", offset == 0 ? ">" : ">>", part)));
  std::vector<char> buf(kChunk);
  for (std::uintmax_t left = size - offset; left > 0;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uintmax_t>(left, buf.size()));
    if (!in.read(buf.data(), static_cast<std::streamsize>(n)))
      return UnavailableError(fmt::format("cannot read {}", bundle.string()));
    CLUSTER_RETURN_IF_ERROR(cat->Write(buf.data(), n));
    left -= n;
  }
  cat->CloseInput();
  CLUSTER_ASSIGN_OR_RETURN(int code, cat->Wait());
  if (code != 0)
    return UnavailableError(fmt::format("cannot write the host bundle to the host: {} (exit {})", cat->ErrorText(), code));
  return Status::Ok();
}

StatusOr<std::string> EnsureBundle(Transport& transport, const LocalAgent& agent) {
  const std::string id = InstallId(agent);
  const std::string dir = fmt::format("\"$HOME/.cache/clusterd/{}\"", id);
  const std::string bin = fmt::format("\"$HOME/.cache/clusterd/{}/bin/clusterd\"", id);
  // An install exists only after its checks passed (the rename comes last).
  CLUSTER_ASSIGN_OR_RETURN(CommandResult have,
                           transport.Run(fmt::format("[ -x {0} ] && [ \"$(cat {1}/BUNDLE_SHA256)\" = {2} ]", bin, dir,
                                                     agent.hash)));
  if (have.exit_code == 0) return bin;

  const std::string part = fmt::format("\"$HOME/.cache/clusterd/{}.tar.part\"", id);
  CLUSTER_RETURN_IF_ERROR(SendBundle(transport, agent.bundle, part));
  // Nothing from the bundle runs before its SHA-256 matches.
  const std::string install = fmt::format(
      "set -e; umask 077; c=\"$HOME/.cache/clusterd\"; p={0}; t=\"$c/{1}.tmp.$$\"; "
      "fail() {{ rm -rf \"$t\"; rm -f \"$p\"; echo \"$1\"; exit 3; }}; "
      "got=$(sha256sum < \"$p\" | cut -d' ' -f1); "
      "[ \"$got\" = {2} ] || fail \"the copied bundle has SHA-256 $got, not {2}: it was damaged on the way and removed; "
      "run again\"; "
      "rm -rf \"$t\"; mkdir -p \"$t\"; "
      "tar -xf \"$p\" -C \"$t\" --strip-components=1 --no-same-owner || fail 'the bundle does not unpack (is tar "
      "installed and the disk not full?)'; "
      "(cd \"$t\" && sha256sum --quiet --strict -c SHA256SUMS >/dev/null 2>&1) || fail 'the unpacked files do not "
      "match the SHA256SUMS of a host bundle (is it one? is the disk full?)'; "
      "echo {2} > \"$t/BUNDLE_SHA256\"; rm -rf {3}; mv \"$t\" {3}; rm -f \"$p\"",
      part, id, agent.hash, dir);
  CLUSTER_ASSIGN_OR_RETURN(CommandResult installed, transport.Run(install));
  if (installed.exit_code != 0) {
    return FailedPreconditionError(fmt::format("cannot install the host bundle {} on the host: {} (exit {})",
                                               agent.bundle.filename().string(),
                                               TrimOutput(installed.out + installed.err), installed.exit_code));
  }
  return bin;
}

}  // namespace

StatusOr<LocalAgent> FindLocalAgent(const std::string& agent_path, const std::string& bundle_path,
                                    const std::string& version, HashCache* cache) {
  if (!bundle_path.empty()) return OpenBundle(bundle_path, version);
  std::vector<fs::path> candidates;
  if (!agent_path.empty()) {
    candidates.push_back(agent_path);
  } else if (const char* env_bundle = std::getenv("CLUSTERCTL_BUNDLE"); env_bundle && *env_bundle) {
    return OpenBundle(env_bundle, version);
  } else if (const char* env_agent = std::getenv("CLUSTERCTL_AGENT"); env_agent && *env_agent) {
    candidates.push_back(env_agent);
  } else {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      CLUSTER_ASSIGN_OR_RETURN(fs::path bundle,
                               BundleIn(self.parent_path().parent_path() / "share/clusterctl/bundles", version));
      if (!bundle.empty()) return OpenBundle(bundle, version);
      candidates.push_back(self.parent_path() / "clusterd");
      candidates.push_back(self.parent_path().parent_path() / "agent" / "clusterd");
    }
  }
  for (const auto& c : candidates) {
    if (::access(c.c_str(), X_OK) != 0) continue;
    CLUSTER_ASSIGN_OR_RETURN(std::string hash, cache ? cache->HashOf(c) : HashFile(c));
    return LocalAgent{c, "", hash, version};
  }
  std::string tried;
  for (const auto& c : candidates) tried += (tried.empty() ? "" : ", ") + c.string();
  return NotFoundError(fmt::format("cannot find the clusterd binary (tried {}); put the host bundle in "
                                   "share/clusterctl/bundles beside clusterctl, or pass --bundle PATH or --agent PATH",
                                   tried));
}

StatusOr<std::string> EnsureAgent(Transport& transport, const LocalAgent& agent) {
  if (!agent.bundle.empty()) return EnsureBundle(transport, agent);
  if (transport.IsLocal()) return "'" + agent.path.string() + "'";
  const std::string dir = fmt::format("\"$HOME/.cache/clusterd/{}\"", InstallId(agent));
  const std::string bin = fmt::format("\"$HOME/.cache/clusterd/{}/clusterd\"", InstallId(agent));
  const std::string stamp = fmt::format("\"$HOME/.cache/clusterd/{}/CLUSTERD_HASH\"", InstallId(agent));

  // The stamp is written after the copy's own hash matched: no process and
  // no read of the binary per push (`read` is the shell's own).
  CLUSTER_ASSIGN_OR_RETURN(CommandResult have, transport.Run(fmt::format(
                                                   "[ -x {0} ] && read -r h < {1} && [ \"$h\" = {2} ]", bin, stamp,
                                                   agent.hash)));
  if (have.exit_code == 0) return bin;

  CLUSTER_ASSIGN_OR_RETURN(std::string bytes, ReadFile(agent.path));
  // Copy to a temporary name, check the hash the copy computes of itself, then rename.
  const std::string install = fmt::format(
      "set -e; umask 077; mkdir -p {0}; t={0}/clusterd.tmp.$$; cat > \"$t\"; chmod 0700 \"$t\"; "
      "got=$(\"$t\" hash \"$t\") || {{ rm -f \"$t\"; echo 'the copied clusterd does not run on this host' >&2; exit 3; }}; "
      "if [ \"$got\" != {2} ]; then rm -f \"$t\"; echo \"hash mismatch: got $got\" >&2; exit 3; fi; "
      "mv -f \"$t\" {1}; echo \"$got\" > {3}.tmp.$$; mv -f {3}.tmp.$$ {3}",
      dir, bin, agent.hash, stamp);
  CLUSTER_ASSIGN_OR_RETURN(CommandResult copied, transport.Run(install, bytes));
  if (copied.exit_code != 0) {
    return FailedPreconditionError(fmt::format("cannot install clusterd on the host: {} (exit {})",
                                               TrimOutput(copied.err), copied.exit_code));
  }
  return bin;
}

StatusOr<std::vector<std::string>> PruneOtherAgents(Transport& transport, const LocalAgent& agent) {
  // An install is a folder VERSION-HASH16 holding clusterd or bin/clusterd;
  // it is in use while a process's executable lies below it. The processes
  // of a replaced agent may still be exiting: an install in use is looked at
  // again for up to 3 s, then left for the next `up`.
  const std::string prune = fmt::format(
      "c=\"$HOME/.cache/clusterd\"; for try in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do left=; "
      "for d in \"$c\"/*-????????????????; do "
      "[ -d \"$d\" ] && [ \"${{d##*/}}\" != {0} ] || continue; "
      "[ -e \"$d/clusterd\" ] || [ -e \"$d/bin/clusterd\" ] || continue; busy=; "
      "for e in /proc/[0-9]*/exe; do case \"$(readlink \"$e\" 2>/dev/null)\" in \"$d\"/*) busy=1; break;; esac; done; "
      "if [ -n \"$busy\" ]; then left=1; else rm -rf \"$d\" && echo \"${{d##*/}}\"; fi; done; "
      "[ -z \"$left\" ] && break; sleep 0.2; done; true",
      InstallId(agent));
  CLUSTER_ASSIGN_OR_RETURN(CommandResult r, transport.Run(prune));
  std::vector<std::string> removed;
  std::size_t start = 0;
  while (start < r.out.size()) {
    std::size_t end = r.out.find('\n', start);
    if (end == std::string::npos) end = r.out.size();
    if (end > start) removed.push_back(r.out.substr(start, end - start));
    start = end + 1;
  }
  return removed;
}

}  // namespace cluster::cli
