#include "cli/transfer/push_job.h"

namespace cluster::cli {

std::filesystem::path Artifact::LocalFile(const ManifestEntry& entry) const {
  // A tarball's manifest has one entry named after the file itself.
  if (kind == Kind::kImage) return local_root;
  return local_root / entry.path;
}

}  // namespace cluster::cli
