// The .deb packages (docs/install.md) as an operator installs them on a
// machine with no network: `cpack -G DEB` from this build, then `apt-get
// install ./X.deb` in a throwaway view of this machine (an overlay over its
// root, in a network namespace of its own, so apt can reach no mirror and
// nothing it writes stays). This machine built the programs, so it has the
// Debian libraries the packages declare: the install must need nothing else.
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/subprocess.h"
#include "packaging_support.h"
#include "skip.h"
#include "temp_dir.h"

namespace cluster {
namespace {
namespace fs = std::filesystem;

using testing::Lines;
using testing::Sh;

// "libc6 (>= 2.34), libfmt9 (>= 9.1.0+ds1)" -> {libc6, libfmt9}
std::set<std::string> PackageNames(const std::string& depends) {
  std::set<std::string> names;
  std::istringstream in(depends);
  for (std::string item; std::getline(in, item, ',');) {
    const size_t start = item.find_first_not_of(' ');
    if (start == std::string::npos) continue;
    names.insert(item.substr(start, item.find_first_of(" (", start) - start));
  }
  return names;
}

// The Debian packages that hold the libraries `program` links directly
// (its DT_NEEDED entries), but those under `private_dir` (shipped inside the
// package itself). What dpkg-shlibdeps must have declared, no more, no less.
std::set<std::string> PackagesOfNeededLibraries(const fs::path& program, const std::string& private_dir) {
  ProcessResult needed = Sh(fmt::format("readelf -d '{}' | sed -n 's/.*(NEEDED).*\\[\\(.*\\)\\]/\\1/p'", program.string()));
  REQUIRE(needed.exit_code == 0);
  ProcessResult ldd = Sh(fmt::format("ldd '{}'", program.string()));
  REQUIRE(ldd.exit_code == 0);
  std::set<std::string> packages;
  for (const std::string& soname : Lines(needed.out)) {
    // "\tlibfmt.so.9 => /lib/x86_64-linux-gnu/libfmt.so.9 (0x...)", or for
    // the dynamic loader "\t/lib64/ld-linux-x86-64.so.2 (0x...)".
    std::string path;
    for (const std::string& line : Lines(ldd.out)) {
      const size_t name = line.find(soname), arrow = line.find(" => "), address = line.rfind(" (");
      if (name == std::string::npos || address == std::string::npos) continue;
      if (arrow == std::string::npos) path = line.substr(1, address - 1);
      else if (name < arrow) path = line.substr(arrow + 4, address - arrow - 4);
    }
    INFO(soname << " in\n" << ldd.out);
    REQUIRE(!path.empty());
    if (!private_dir.empty() && path.find(private_dir) != std::string::npos) continue;
    // dpkg knows the library under /lib or /usr/lib, whichever it shipped.
    ProcessResult owner = Sh(fmt::format("dpkg -S '{0}' 2>/dev/null || dpkg -S \"$(readlink -f '{0}')\" 2>/dev/null || "
                                         "dpkg -S \"/usr$(readlink -f '{0}')\"",
                                         path));
    INFO(path << ": " << owner.out << owner.err);
    REQUIRE(owner.exit_code == 0);
    packages.insert(owner.out.substr(0, owner.out.find_first_of(":")));
  }
  return packages;
}

// Builds the packages of `component` (clusterctl | host) from this build
// into `dir`, and returns the path of the one that is not -dbgsym.
fs::path MakePackage(const std::string& component, const fs::path& dir) {
  ProcessResult made = Sh(fmt::format("'{}' --config '{}/CPackConfig.cmake' -G DEB -D CPACK_COMPONENTS_ALL={} -B '{}'",
                                      CPACK_COMMAND, CLUSTER_BINARY_DIR, component, dir.string()));
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  std::vector<fs::path> debs;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".deb") debs.push_back(e.path());
  }
  REQUIRE(debs.size() == 1);
  return debs.front();
}

std::string Field(const fs::path& deb, const std::string& field) {
  ProcessResult r = Sh(fmt::format("dpkg-deb -f '{}' {}", deb.string(), field));
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find_last_not_of('\n') + 1);
}

// A throwaway view of this machine with no network, `debs` at /mnt/debs and
// the demo model at /mnt/demo.
testing::OverlayRoot OfflineMachine(const fs::path& debs) {
  if (::geteuid() != 0) testing::SkipTest("not root: overlay mounts, chroot and apt-get need root");
  return testing::OverlayRoot("/", {{debs, "/mnt/debs"}, {CLUSTER_SOURCE_DIR "/models/demo", "/mnt/demo"}}, true);
}

void SkipUnlessItMounts(const testing::OverlayRoot& root) {
  ProcessResult probe = root.Run("true");
  if (probe.exit_code != 0) testing::SkipTest("an overlay over / in a mount namespace does not work here: " + probe.err);
}

}  // namespace

TEST_CASE("clusterctl's .deb declares exactly the Debian libraries it links, installs with apt without a network "
          "where they are present, and brings the examples and the documentation", "[packaging]") {
  testing::TempDir out("debs");
  const fs::path deb = MakePackage("clusterctl", out.path);
  CHECK(deb.filename() == fmt::format("clusterctl_{}_{}.deb", CLUSTER_VERSION, Field(deb, "Architecture")));
  CHECK(fs::exists(out.path / fmt::format("clusterctl-dbgsym_{}_{}.ddeb", CLUSTER_VERSION, Field(deb, "Architecture"))));
  CHECK(PackageNames(Field(deb, "Depends")) == PackagesOfNeededLibraries(CLUSTERCTL_BIN, ""));

  const testing::OverlayRoot root = OfflineMachine(out.path);
  SkipUnlessItMounts(root);
  ProcessResult install = root.Run(fmt::format(
      "apt-get install -y -q /mnt/debs/{} && command -v clusterctl && clusterctl --version && "
      "ls /usr/share/clusterctl/examples && ls /usr/share/doc/clusterctl && "
      "clusterctl validate --skip-artifacts -f /usr/share/clusterctl/examples/t4-4x4.yaml >/dev/null && "
      "apt-get purge -y -q clusterctl >/dev/null && ! test -e /usr/bin/clusterctl",
      deb.filename().string()));
  INFO(install.out << install.err);
  REQUIRE(install.exit_code == 0);
  CHECK(install.out.find("\n/usr/bin/clusterctl\n") != std::string::npos);
  CHECK(install.out.find(fmt::format("clusterctl {} (commit ", CLUSTER_VERSION)) != std::string::npos);
  for (const auto& e : fs::directory_iterator(CLUSTER_SOURCE_DIR "/configs/examples")) {
    INFO(e.path().filename());
    CHECK(install.out.find("\n" + e.path().filename().string() + "\n") != std::string::npos);
  }
  CHECK(install.out.find("\ncommands.txt\n") != std::string::npos);
  CHECK(install.out.find("\nguide.md\n") != std::string::npos);
  CHECK(!fs::exists("/usr/share/clusterctl/examples/t4-4x4.yaml"));  // the overlay kept it
}

TEST_CASE("The host .deb declares exactly the Debian libraries its programs link, installs with apt without a "
          "network, and its clusterd and infer-engine run with the clusterd@ unit in place", "[packaging]") {
  testing::TempDir out("debs");
  const fs::path deb = MakePackage("host", out.path);
  const std::string name = CLUSTER_WITH_CUDA ? "clusterd-cuda" : "clusterd";
  CHECK(Field(deb, "Package") == name);
  std::set<std::string> needed = PackagesOfNeededLibraries(CLUSTERD_BIN, "");
  for (const std::string& p : PackagesOfNeededLibraries(INFER_ENGINE_BIN, "/usr/local/cuda")) needed.insert(p);
  CHECK(PackageNames(Field(deb, "Depends")) == needed);

  const testing::OverlayRoot root = OfflineMachine(out.path);
  SkipUnlessItMounts(root);
  ProcessResult install = root.Run(fmt::format(
      "apt-get install -y -q /mnt/debs/{} >/dev/null && clusterd --version && infer-engine --version && "
      "infer-engine generate --device cpu --model /mnt/demo --prompt 'The capital of France is' --max-tokens 4 "
      "--temperature 0 >/dev/null && echo generated && ls /lib/systemd/system/ && "
      "apt-get purge -y -q {} >/dev/null && ! test -e /usr/lib/clusterd",
      deb.filename().string(), name));
  INFO(install.out << install.err);
  REQUIRE(install.exit_code == 0);
  CHECK(install.out.rfind(fmt::format("clusterd {} (commit ", CLUSTER_VERSION), 0) == 0);
  CHECK(install.out.find(fmt::format("\ninfer-engine {} (commit ", CLUSTER_VERSION)) != std::string::npos);
  CHECK(install.out.find("\ngenerated\n") != std::string::npos);
  CHECK(install.out.find("\nclusterd@.service\n") != std::string::npos);
}

}  // namespace cluster
