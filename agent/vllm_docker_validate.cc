// ValidateContainerSpec / ValidateContainerLabels (vllm_docker.h): the syntax
// of every ContainerSpec field that ends up in a `docker` argv. The spec comes
// over the wire from clusterctl; these checks are what stands between it and
// docker's own parsers (mount specs split on ':' and ',', env files on '\n').
#include <arpa/inet.h>

#include <regex>
#include <set>

#include <fmt/format.h>

#include "agent/vllm_docker.h"
#include "common/docker_options.h"
#include "common/env_allow_list.h"

namespace cluster::agent {
namespace {

// JSON-ish quoting for error messages, so that an empty or odd value is visible.
std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Status Bad(std::string_view field, std::string_view value, std::string_view why) {
  return InvalidArgumentError(fmt::format("container.{}: {} {}", field, Quoted(value), why));
}

bool HasControl(std::string_view s, bool allow_tab = false) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && !(allow_tab && c == '\t')) || u == 0x7f) return true;
  }
  return false;
}

// Docker's reference grammar (distribution/reference): a domain (with an
// optional port) only when followed by '/', then lowercase path components
// joined by separators, an optional tag, an optional digest. We accept only
// sha256 digests: that is what `docker save` and registries produce.
const std::regex& ImageReferencePattern() {
  static const std::regex pattern = [] {
    const std::string component = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
    const std::string domain_part = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    const std::string domain = domain_part + "(?:\\." + domain_part + ")*(?::[0-9]+)?";
    const std::string tag = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    return std::regex("^(?:" + domain + "/)?" + component + "(?:/" + component + ")*(?::" + tag +
                      ")?(?:@sha256:[a-f0-9]{64})?$");
  }();
  return pattern;
}

Status CheckImage(const std::string& image) {
  // docker limits the name to 255 characters; the tag adds at most 129, the digest 72.
  if (image.empty() || image.size() > 255 + 129 + 72 || !std::regex_match(image, ImageReferencePattern())) {
    return Bad("image", image,
               "is not an image reference: expected [registry[:port]/]name[:tag][@sha256:<64 hex digits>], "
               "the name's path in lowercase letters, digits and the separators . _ __ -");
  }
  return Status::Ok();
}

Status CheckName(std::string_view field, const std::string& value) {
  static const std::regex pattern("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$");
  if (!std::regex_match(value, pattern)) {
    return Bad(field, value, "is not a valid name: expected [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters");
  }
  return Status::Ok();
}

Status CheckIpv4(std::string_view field, const std::string& value) {
  in_addr parsed{};
  if (::inet_pton(AF_INET, value.c_str(), &parsed) != 1) {
    return Bad(field, value, "is not an IPv4 address (a literal like 10.0.0.5; host names are not resolved here)");
  }
  return Status::Ok();
}

Status CheckPort(std::string_view field, int port) {
  if (port < 1 || port > 65535) {
    return Bad(field, std::to_string(port), "is not a TCP port (1-65535)");
  }
  return Status::Ok();
}

Status CheckModelPath(const std::string& path) {
  // The path is both sides of `-v PATH:PATH:ro`: docker splits that on ':'
  // and `--mount` on ','; "/" would hand the whole host to the container.
  if (path.empty() || path.front() != '/' || path == "/" || path.find_first_of(":,") != std::string::npos ||
      HasControl(path)) {
    return Bad("model_path", path,
               "is not usable as a mount: expected an absolute folder path other than \"/\", "
               "without ':', ',' or control characters");
  }
  return Status::Ok();
}

Status CheckEnv(const std::map<std::string, std::string>& env) {
  for (const auto& [key, value] : env) {
    if (Status allowed = CheckAllowedEnvName(key); !allowed.ok()) {
      return InvalidArgumentError("container.env: " + allowed.message());
    }
    if (HasControl(value, /*allow_tab=*/true)) {
      return Bad("env." + key, value, "contains a NUL, newline or other control character");
    }
  }
  return Status::Ok();
}

Status CheckShmSize(const std::string& size) {
  static const std::regex pattern("^[0-9]+[bkmg]?$");
  if (!std::regex_match(size, pattern) || size.front() == '0') {
    return Bad("shm_size", size,
               "is not a size: expected a positive number with an optional unit b, k, m or g (\"16g\")");
  }
  return Status::Ok();
}

Status CheckServe(const control::ContainerSpec& spec) {
  if (HasControl(spec.served_model_name) || spec.served_model_name.find(' ') != std::string::npos) {
    return Bad("served_model_name", spec.served_model_name, "contains a space or a control character");
  }
  if (spec.tensor_parallel < 1) {
    return Bad("tensor_parallel", std::to_string(spec.tensor_parallel), "must be at least 1");
  }
  if (spec.pipeline_parallel < 1) {
    return Bad("pipeline_parallel", std::to_string(spec.pipeline_parallel), "must be at least 1");
  }
  static const std::set<std::string> dtypes = {"", "auto", "half", "float16", "bfloat16", "float", "float32"};
  if (!dtypes.count(spec.dtype)) {
    return Bad("dtype", spec.dtype, "is not a vLLM dtype: expected auto, half, float16, bfloat16, float or float32");
  }
  CLUSTER_RETURN_IF_ERROR(CheckPort("serve_port", spec.serve_port));
  if (!spec.serve_address.empty()) CLUSTER_RETURN_IF_ERROR(CheckIpv4("serve_address", spec.serve_address));
  if (spec.serve_port == spec.ray_port) {
    return Bad("serve_port", std::to_string(spec.serve_port), "is also the Ray port (ray_port): they must differ");
  }
  for (const auto& word : spec.vllm_args) {
    if (HasControl(word)) {
      return Bad("vllm_args", word, "contains a NUL or other control character");
    }
  }
  return Status::Ok();
}

// The operator's docker options must arrive in their canonical form: the
// one grammar clusterctl also uses (common/docker_options.h).
Status CheckDockerOptions(const control::ContainerSpec& spec) {
  for (const std::string& volume : spec.volumes) {
    StatusOr<std::string> canonical = CanonicalVolume(volume);
    if (!canonical.ok()) return Bad("volumes", volume, canonical.status().message());
    if (*canonical != volume) return Bad("volumes", volume, "is not in the form HOST:CONTAINER:ro|rw");
    if (VolumeTarget(volume) == spec.model_path) {
      return Bad("volumes", volume, "mounts over the model folder");
    }
  }
  for (const std::string& device : spec.devices) {
    StatusOr<std::string> canonical = CanonicalDevice(device);
    if (!canonical.ok()) return Bad("devices", device, canonical.status().message());
    if (*canonical != device) return Bad("devices", device, "is not in the form HOST:CONTAINER:PERMISSIONS");
  }
  for (const std::string& ulimit : spec.ulimits) {
    const std::size_t eq = ulimit.find('=');
    if (eq == std::string::npos) return Bad("ulimits", ulimit, "is not in the form NAME=SOFT:HARD");
    StatusOr<std::string> canonical = CanonicalUlimit(ulimit.substr(0, eq), ulimit.substr(eq + 1));
    if (!canonical.ok()) return Bad("ulimits", ulimit, canonical.status().message());
    if (*canonical != ulimit.substr(eq + 1)) return Bad("ulimits", ulimit, "is not in the form NAME=SOFT:HARD");
  }
  std::set<int> seen;
  for (int gpu : spec.gpu_devices) {
    if (gpu < 0 || gpu > 1023 || !seen.insert(gpu).second) {
      return Bad("gpu_devices", std::to_string(gpu), "is not a GPU index 0-1023 listed once");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateContainerSpec(const control::ContainerSpec& spec) {
  CLUSTER_RETURN_IF_ERROR(CheckName("name", spec.name));
  CLUSTER_RETURN_IF_ERROR(CheckImage(spec.image));
  CLUSTER_RETURN_IF_ERROR(CheckShmSize(spec.shm_size));
  CLUSTER_RETURN_IF_ERROR(CheckModelPath(spec.model_path));
  CLUSTER_RETURN_IF_ERROR(CheckEnv(spec.env));
  CLUSTER_RETURN_IF_ERROR(CheckDockerOptions(spec));
  CLUSTER_RETURN_IF_ERROR(CheckIpv4("node_address", spec.node_address));
  if (!spec.head || !spec.head_address.empty()) CLUSTER_RETURN_IF_ERROR(CheckIpv4("head_address", spec.head_address));
  CLUSTER_RETURN_IF_ERROR(CheckPort("ray_port", spec.ray_port));
  if (spec.expected_gpus < 0) return Bad("expected_gpus", std::to_string(spec.expected_gpus), "must not be negative");
  if (spec.head) CLUSTER_RETURN_IF_ERROR(CheckServe(spec));
  return Status::Ok();
}

Status ValidateContainerLabels(const ContainerLabels& labels) {
  CLUSTER_RETURN_IF_ERROR(CheckName("label " + std::string(kClusterLabel), labels.cluster));
  return CheckName("label " + std::string(kDeploymentLabel), labels.deployment);
}

}  // namespace cluster::agent
