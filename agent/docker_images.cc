#include "agent/docker_images.h"

#include <fmt/format.h>

#include "common/subprocess.h"

namespace cluster::agent {
namespace {

std::string FirstLine(const std::string& text) {
  auto end = text.find('\n');
  return text.substr(0, end);
}

}  // namespace

StatusOr<std::string> DockerVersion() {
  auto result = RunProcess({"docker", "version", "--format", "{{.Server.Version}}"});
  if (!result.ok()) {
    return FailedPreconditionError(
        "Docker is not installed on this host (no `docker` program in PATH); install docker.io there, "
        "or remove the image from artifacts.images");
  }
  if (result->exit_code != 0) {
    std::string why = FirstLine(result->err.empty() ? result->out : result->err);
    return FailedPreconditionError(fmt::format(
        "Docker is installed but its daemon does not answer ({}); start it (systemctl start docker)", why));
  }
  return FirstLine(result->out);
}

bool DockerHasImage(const std::string& image_id) {
  auto result = RunProcess({"docker", "image", "inspect", "--format", "{{.Id}}", image_id});
  return result.ok() && result->exit_code == 0 && FirstLine(result->out) == image_id;
}

StatusOr<std::vector<std::string>> DockerLoad(const std::string& tarball) {
  auto result = RunProcess({"docker", "load", "--quiet", "--input", tarball});
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return InternalError(fmt::format("docker load {} failed: {}", tarball, FirstLine(result->err)));
  }
  // "Loaded image: busybox:1" per tag, or "Loaded image ID: sha256:..." for untagged images.
  std::vector<std::string> loaded;
  size_t pos = 0;
  const std::string& out = result->out;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(pos, end - pos);
    pos = end + 1;
    for (std::string prefix : {"Loaded image: ", "Loaded image ID: "}) {
      if (line.rfind(prefix, 0) == 0) loaded.push_back(line.substr(prefix.size()));
    }
  }
  return loaded;
}

}  // namespace cluster::agent
