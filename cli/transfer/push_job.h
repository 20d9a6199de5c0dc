// What `push` sends: the artifacts with their manifests, where each goes on a
// host, and what happened on each host (HostReport). Plain data; the work is
// in host_push.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/transfer/docker_archive.h"
#include "common/manifest.h"

namespace cluster::cli {

struct Artifact {
  enum class Kind { kModel, kImage };
  Kind kind = Kind::kModel;
  std::string name;                     // the inventory's name of the model or image
  std::filesystem::path local_root;     // a model folder, or an image tarball
  Manifest manifest;                    // built once, shared by every host
  std::optional<DockerArchive> docker;  // images only

  // The local file of one manifest entry.
  std::filesystem::path LocalFile(const ManifestEntry& entry) const;
};

// One artifact as it lands on one host: entry E goes to REMOTE_ROOT/E.path.
struct HostArtifact {
  const Artifact* artifact = nullptr;
  std::string remote_root;  // absolute, or "~/..." (the receiver expands it)
};

struct HostJob {
  std::string host;  // inventory name
  std::vector<HostArtifact> artifacts;
};

// The outcome of one host; the summary table and `--json` show these fields.
struct HostReport {
  std::string host;
  bool ok = false;
  std::string error;                // what failed, when !ok
  std::uint64_t bytes_sent = 0;     // file bytes put on the wire in this run
  std::uint64_t bytes_skipped = 0;  // bytes of files already right on the host
  std::uint64_t bytes_resumed = 0;  // bytes of partial files kept and not resent
  int files_sent = 0;
  int files_skipped = 0;
  int files_resumed = 0;
  int files_replaced = 0;           // files on the host that differed (corrupt, stale)
  int files_verified = 0;           // files whose hash the host checked in this run
  std::vector<std::string> images_loaded;   // tags docker reported
  std::vector<std::string> images_present;  // images the host already had
  double seconds = 0;
};

}  // namespace cluster::cli
