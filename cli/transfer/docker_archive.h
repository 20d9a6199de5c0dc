// Reading a `docker save` tarball without Docker: its manifest.json names the
// image config, whose digest is the image id Docker reports once loaded. Push
// uses it to skip `docker load` on hosts that already have the image.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace cluster::cli {

struct DockerArchive {
  std::string image_id;                // "sha256:<64 hex>" of the first image in the archive
  std::vector<std::string> repo_tags;  // e.g. {"vllm/vllm-openai:v0.8.5"}
};

// Scans the tar headers for manifest.json (it is small and near the end; the
// layers are skipped, not read). InvalidArgument, naming the file, when the
// file is not a docker-save archive.
StatusOr<DockerArchive> ReadDockerArchive(const std::filesystem::path& tarball);

}  // namespace cluster::cli
