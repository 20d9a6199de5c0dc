// docker's syntax for the volumes, devices and ulimits an operator adds to
// the vllm-docker runtime: each value spelt out in full, or refused with the
// reason, so that docker never reads one value as several.
#include "common/docker_options.h"

#include <catch2/catch.hpp>

using namespace cluster;

namespace {

template <typename F, typename... Args>
std::string Why(F f, Args... args) {
  const StatusOr<std::string> r = f(args...);
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

}  // namespace

TEST_CASE("A volume is HOST:CONTAINER with an optional ro or rw, read-write by default") {
  CHECK(*CanonicalVolume("/data/cache:/root/.cache") == "/data/cache:/root/.cache:rw");
  CHECK(*CanonicalVolume("/opt/x:/x:ro") == "/opt/x:/x:ro");
  CHECK(*CanonicalVolume("/opt/x:/x:rw") == "/opt/x:/x:rw");
  CHECK(Why(CanonicalVolume, "/opt/x") == "\"/opt/x\" is not HOST_PATH:CONTAINER_PATH[:ro|rw]");
  CHECK(Why(CanonicalVolume, "cache:/x") == "\"cache\" is not an absolute path");
  CHECK(Why(CanonicalVolume, "/a,b:/x") == "\"/a,b\" holds a ',', which docker reads as a separator");
  CHECK(Why(CanonicalVolume, "/:/host") == "the host path \"/\" would give the container the whole host");
  CHECK(Why(CanonicalVolume, "/opt:/") == "the container path \"/\" would replace the container's root");
  CHECK(Why(CanonicalVolume, "/opt/x:/x:z") == "the mode \"z\" is neither ro nor rw");
  CHECK(Why(CanonicalVolume, "/a:/b:ro:x") == "\"/a:/b:ro:x\" is not HOST_PATH:CONTAINER_PATH[:ro|rw]");
  CHECK(Why(CanonicalVolume, "/a\n:/b") == "a path holds a control character");
}

TEST_CASE("A device lives under /dev/, maps to the same path and gets rwm unless told otherwise") {
  CHECK(*CanonicalDevice("/dev/infiniband") == "/dev/infiniband:/dev/infiniband:rwm");
  CHECK(*CanonicalDevice("/dev/infiniband/uverbs0:rw") == "/dev/infiniband/uverbs0:/dev/infiniband/uverbs0:rw");
  CHECK(*CanonicalDevice("/dev/nvme0:/dev/disk0") == "/dev/nvme0:/dev/disk0:rwm");
  CHECK(*CanonicalDevice("/dev/nvme0:/dev/disk0:r") == "/dev/nvme0:/dev/disk0:r");
  CHECK(Why(CanonicalDevice, "/etc/passwd") == "\"/etc/passwd\" is not a device under /dev/");
  CHECK(Why(CanonicalDevice, "/dev/") == "\"/dev/\" is not a device under /dev/");
  CHECK(Why(CanonicalDevice, "/dev/x:/dev/y:wr") == "the permissions \"wr\" are not r, w and m in that order");
  CHECK(Why(CanonicalDevice, "/dev/x:y") == "\"y\" is not an absolute path");
}

TEST_CASE("A ulimit is a number, -1 or unlimited, or SOFT:HARD with soft at most hard") {
  CHECK(*CanonicalUlimit("memlock", "-1") == "-1:-1");
  CHECK(*CanonicalUlimit("memlock", "unlimited") == "-1:-1");
  CHECK(*CanonicalUlimit("stack", "67108864") == "67108864:67108864");
  CHECK(*CanonicalUlimit("nofile", "65536:1048576") == "65536:1048576");
  CHECK(*CanonicalUlimit("core", "0:-1") == "0:-1");
  CHECK(Why(CanonicalUlimit, "mem", "1") ==
        "\"mem\" is not a limit docker sets; the limits are core, cpu, data, fsize, locks, memlock, msgqueue, nice, "
        "nofile, nproc, rss, rtprio, rttime, sigpending, stack");
  CHECK(Why(CanonicalUlimit, "stack", "64m") ==
        "\"64m\" is not a limit: expected a number, -1 or unlimited, or SOFT:HARD");
  CHECK(Why(CanonicalUlimit, "nofile", "2:1") == "the soft limit of \"2:1\" is above its hard limit");
  CHECK(Why(CanonicalUlimit, "nofile", "-1") == "nofile cannot be unlimited; give a number such as 1048576");
}
