// What the receiver does with a verified image tarball: `docker load` it,
// unless Docker already has the image. Docker is run as a program with a fixed
// argv (never through a shell); DOCKER_HOST and the like come from the
// environment of the SSH session.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace cluster::agent {

// The server version when the Docker CLI is installed and its daemon answers;
// FailedPrecondition with what is wrong otherwise.
StatusOr<std::string> DockerVersion();

// True when Docker has an image with this id ("sha256:...").
bool DockerHasImage(const std::string& image_id);

// Loads a `docker save` tarball; returns the tags (or ids) docker reports.
StatusOr<std::vector<std::string>> DockerLoad(const std::string& tarball);

}  // namespace cluster::agent
