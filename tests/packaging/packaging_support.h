// What the packaging tests share: a shell script run to its end within a
// bound, its output split into lines, and a throwaway root to run scripts in.
#pragma once

#include <filesystem>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/subprocess.h"
#include "temp_dir.h"

namespace cluster::testing {

// Runs `script` with sh -c; fails the test if it could not start or ran past
// `timeout_ms` (its exit status is the caller's to judge).
inline ProcessResult Sh(const std::string& script, int timeout_ms = 300000) {
  auto r = RunProcessWithin({"sh", "-c", script}, timeout_ms);
  REQUIRE(r.ok());
  return *r;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A throwaway view of the root folder `lower` (a debootstrapped root, or "/"
// for this machine): an overlay in a private mount namespace, and a network
// namespace of its own when `offline`, with /dev, /proc and each of `binds`
// (a host folder -> its path inside) mounted in. Run() runs a shell script
// there as root, chrooted, with a clean environment; nothing it writes
// reaches `lower`. Needs root.
class OverlayRoot {
 public:
  OverlayRoot(std::filesystem::path lower, std::vector<std::pair<std::filesystem::path, std::string>> binds,
              bool offline)
      : lower_(std::move(lower)), binds_(std::move(binds)), offline_(offline) {
    for (const char* d : {"upper", "work", "merged"}) std::filesystem::create_directories(dir_.path / d);
  }

  ProcessResult Run(const std::string& script) const {
    const std::string o = dir_.path.string();
    std::string setup = fmt::format(
        "set -e; mount -t overlay overlay -o lowerdir={0},upperdir={1}/upper,workdir={1}/work {1}/merged; "
        "mount --rbind /dev {1}/merged/dev; mount -t proc proc {1}/merged/proc; ",
        lower_.string(), o);
    for (const auto& [from, to] : binds_)
      setup += fmt::format("mkdir -p {0}/merged{2}; mount --bind {1} {0}/merged{2}; ", o, from.string(), to);
    setup += fmt::format(
        "exec chroot {0}/merged /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "
        "DEBIAN_FRONTEND=noninteractive /bin/sh -c \"$0\"",
        o);
    std::vector<std::string> argv = {"unshare", "--mount", "--propagation", "private"};
    if (offline_) argv.push_back("--net");
    for (const char* a : {"sh", "-c"}) argv.push_back(a);
    argv.push_back(setup);
    argv.push_back(script);
    auto r = RunProcessWithin(argv, 300000);
    REQUIRE(r.ok());
    return *r;
  }

 private:
  std::filesystem::path lower_;
  std::vector<std::pair<std::filesystem::path, std::string>> binds_;
  bool offline_;
  TempDir dir_{"overlay"};
};

}  // namespace cluster::testing
