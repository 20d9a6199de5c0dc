// docker_options.h: docker's syntax for volumes, devices and ulimits.
#include "common/docker_options.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace cluster {
namespace {

std::vector<std::string_view> SplitColons(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon - start));
    if (colon == std::string_view::npos) return parts;
    start = colon + 1;
  }
}

// Why `path` is not an absolute path docker reads as one, or "".
std::string PathProblem(std::string_view path) {
  if (path.empty() || path.front() != '/') return fmt::format("\"{}\" is not an absolute path", path);
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "a path holds a control character";
    if (c == ',') return fmt::format("\"{}\" holds a ',', which docker reads as a separator", path);
  }
  return "";
}

bool IsPermissions(std::string_view text) {
  if (text.empty() || text.size() > 3) return false;
  std::size_t at = 0;
  for (char c : std::string_view("rwm")) {
    if (at < text.size() && text[at] == c) ++at;
  }
  return at == text.size();
}

std::optional<std::int64_t> Limit(std::string_view text) {
  if (text == "unlimited") return -1;
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < -1) return std::nullopt;
  return n;
}

constexpr std::array<std::string_view, 15> kUlimits = {"core",    "cpu",        "data",  "fsize", "locks",
                                                       "memlock", "msgqueue",   "nice",  "nofile", "nproc",
                                                       "rss",     "rtprio",     "rttime", "sigpending", "stack"};

}  // namespace

StatusOr<std::string> CanonicalVolume(std::string_view text) {
  const std::vector<std::string_view> parts = SplitColons(text);
  if (parts.size() < 2 || parts.size() > 3) {
    return InvalidArgumentError(fmt::format("\"{}\" is not HOST_PATH:CONTAINER_PATH[:ro|rw]", text));
  }
  for (std::string_view path : {parts[0], parts[1]}) {
    if (std::string problem = PathProblem(path); !problem.empty()) return InvalidArgumentError(problem);
  }
  if (parts[0] == "/") return InvalidArgumentError("the host path \"/\" would give the container the whole host");
  if (parts[1] == "/") return InvalidArgumentError("the container path \"/\" would replace the container's root");
  const std::string_view mode = parts.size() == 3 ? parts[2] : "rw";
  if (mode != "ro" && mode != "rw") {
    return InvalidArgumentError(fmt::format("the mode \"{}\" is neither ro nor rw", mode));
  }
  return fmt::format("{}:{}:{}", parts[0], parts[1], mode);
}

std::string_view VolumeTarget(std::string_view canonical_volume) {
  const std::size_t first = canonical_volume.find(':');
  return canonical_volume.substr(first + 1, canonical_volume.rfind(':') - first - 1);
}

StatusOr<std::string> CanonicalDevice(std::string_view text) {
  const std::vector<std::string_view> parts = SplitColons(text);
  if (parts.size() > 3) return InvalidArgumentError(fmt::format("\"{}\" is not HOST[:CONTAINER][:PERMISSIONS]", text));
  const std::string_view host = parts[0];
  std::string_view container = host;
  std::string_view permissions = "rwm";
  if (parts.size() == 2) {
    (IsPermissions(parts[1]) ? permissions : container) = parts[1];
  } else if (parts.size() == 3) {
    container = parts[1];
    permissions = parts[2];
  }
  if (std::string problem = PathProblem(host); !problem.empty()) return InvalidArgumentError(problem);
  if (!host.starts_with("/dev/") || host.size() == 5) {
    return InvalidArgumentError(fmt::format("\"{}\" is not a device under /dev/", host));
  }
  if (std::string problem = PathProblem(container); !problem.empty()) return InvalidArgumentError(problem);
  if (!IsPermissions(permissions)) {
    return InvalidArgumentError(fmt::format("the permissions \"{}\" are not r, w and m in that order", permissions));
  }
  return fmt::format("{}:{}:{}", host, container, permissions);
}

StatusOr<std::string> CanonicalUlimit(std::string_view name, std::string_view value) {
  bool known = false;
  for (std::string_view k : kUlimits) known = known || k == name;
  if (!known) {
    return InvalidArgumentError(fmt::format("\"{}\" is not a limit docker sets; the limits are {}", name,
                                            fmt::join(kUlimits, ", ")));
  }
  const std::size_t colon = value.find(':');
  const std::optional<std::int64_t> soft = Limit(value.substr(0, colon));
  const std::optional<std::int64_t> hard = colon == std::string_view::npos ? soft : Limit(value.substr(colon + 1));
  if (!soft || !hard) {
    return InvalidArgumentError(
        fmt::format("\"{}\" is not a limit: expected a number, -1 or unlimited, or SOFT:HARD", value));
  }
  if (*hard != -1 && (*soft == -1 || *soft > *hard)) {
    return InvalidArgumentError(fmt::format("the soft limit of \"{}\" is above its hard limit", value));
  }
  if (name == "nofile" && (*soft == -1 || *hard == -1)) {
    return InvalidArgumentError("nofile cannot be unlimited; give a number such as 1048576");
  }
  return fmt::format("{}:{}", *soft, *hard);
}

}  // namespace cluster
