// The `docker run` options an operator adds for the vllm-docker runtime
// (runtime.vllm_docker.volumes, devices, ulimits), in docker's own syntax.
//
// Each function reads one value as an operator writes it and returns its
// canonical form, with every part spelt out, or InvalidArgument saying what
// is wrong. clusterctl sends the canonical form; the agent, which must not
// trust it, accepts a value only when it is already canonical
// (Canonical...(x) == x), so both sides share one grammar. The rules keep
// docker from reading one value as several: no ',' (the --mount separator),
// no control characters, absolute paths, and ':' only between parts.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace cluster {

// "HOST:CONTAINER" or "HOST:CONTAINER:ro|rw" -> "HOST:CONTAINER:ro|rw"
// (read-write unless ro). Both paths absolute; HOST not "/" (the whole host);
// CONTAINER not "/".
StatusOr<std::string> CanonicalVolume(std::string_view text);

// CONTAINER of a canonical volume "HOST:CONTAINER:MODE".
std::string_view VolumeTarget(std::string_view canonical_volume);

// "HOST", "HOST:CONTAINER", "HOST:PERMS" or "HOST:CONTAINER:PERMS" ->
// "HOST:CONTAINER:PERMS". HOST under /dev/; CONTAINER absolute (default:
// HOST); PERMS a non-empty subset of "rwm" in that order (default "rwm").
StatusOr<std::string> CanonicalDevice(std::string_view text);

// The limit `name` (core, cpu, data, fsize, locks, memlock, msgqueue, nice,
// nofile, nproc, rss, rtprio, rttime, sigpending, stack) at `value`: a
// number, -1 or "unlimited", or "SOFT:HARD" -> "SOFT:HARD" (-1 for
// unlimited). SOFT <= HARD; nofile cannot be unlimited (the kernel has no
// such value).
StatusOr<std::string> CanonicalUlimit(std::string_view name, std::string_view value);

}  // namespace cluster
