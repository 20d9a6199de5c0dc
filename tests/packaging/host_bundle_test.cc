// The host bundle (docs/install.md) as a bare host sees it: the tarball that
// `ninja host-bundle` writes, unpacked, checked against its own SHA256SUMS,
// and run inside a minimal Debian 12 root (debootstrap --variant=minbase with
// systemd and sshd, no development packages; scripts/make-test-roots makes
// it) through an overlay, so the root itself is never changed.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/files.h"
#include "common/subprocess.h"
#include "packaging_support.h"
#include "skip.h"
#include "temp_dir.h"

namespace cluster {
namespace {
namespace fs = std::filesystem;

const fs::path kBundle = HOST_BUNDLE;

// The folder of test roots: $CLUSTER_TEST_ROOTS, else scripts/make-test-roots' default.
fs::path TestRoot(const std::string& name) {
  const char* dir = std::getenv("CLUSTER_TEST_ROOTS");
  return fs::path(dir && *dir ? dir : "/var/cache/clusterctl-test/roots") / name;
}

using testing::Lines;
using testing::Sh;

// The bundle unpacked into a fresh folder; `tree` is its top folder.
struct Unpacked {
  Unpacked() {
    if (!fs::exists(kBundle))
      testing::SkipTest(fmt::format("no host bundle at {}: build it with `ninja -C build host-bundle` "
                                    "(scripts/build does)", kBundle.string()));
    ProcessResult r = Sh(fmt::format("tar -xf '{}' -C '{}'", kBundle.string(), dir.path.string()));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    tree = dir.path / kBundle.stem();
    REQUIRE(fs::is_directory(tree));
  }
  testing::TempDir dir{"bundle"};
  fs::path tree;
};

}  // namespace

TEST_CASE("The host bundle holds both programs, stripped and finding their libraries in ../lib, with BUILD_INFO "
          "and SHA256SUMS of every other file", "[packaging]") {
  Unpacked b;
  ProcessResult sums = Sh(fmt::format("cd '{}' && sha256sum --strict -c SHA256SUMS", b.tree.string()));
  INFO(sums.out << sums.err);
  CHECK(sums.exit_code == 0);

  std::set<std::string> listed, present;
  for (const std::string& line : Lines(*ReadFile(b.tree / "SHA256SUMS"))) listed.insert(line.substr(66));
  for (const auto& e : fs::recursive_directory_iterator(b.tree)) {
    if (e.is_regular_file()) present.insert(fs::relative(e.path(), b.tree).string());
  }
  present.erase("SHA256SUMS");
  CHECK(listed == present);
  CHECK(listed.count("bin/clusterd") == 1);
  CHECK(listed.count("bin/infer-engine") == 1);
  if (CLUSTER_WITH_CUDA) {
    // The engine links cuBLASLt and NCCL; the CUDA runtime is linked statically.
    for (const char* lib : {"libcublasLt.so", "libnccl.so"}) {
      INFO(lib);
      CHECK(std::any_of(listed.begin(), listed.end(),
                        [&](const std::string& f) { return f.rfind(std::string("lib/") + lib, 0) == 0; }));
    }
  }
  CHECK(listed.count("lib/libcuda.so.1") == 0);  // the driver's: the host's own

  const std::string info = *ReadFile(b.tree / "BUILD_INFO");
  CHECK(info.rfind(fmt::format("version: {}\ncommit: ", CLUSTER_VERSION), 0) == 0);

  for (const char* program : {"bin/clusterd", "bin/infer-engine"}) {
    INFO(program);
    ProcessResult dynamic = Sh(fmt::format("readelf -d '{}'", (b.tree / program).string()));
    CHECK(dynamic.out.find("Library rpath: [$ORIGIN/../lib]") != std::string::npos);
    ProcessResult sections = Sh(fmt::format("readelf -S '{}'", (b.tree / program).string()));
    CHECK(sections.out.find(".debug_info") == std::string::npos);
    CHECK(sections.out.find(".symtab") == std::string::npos);
  }

  ProcessResult recorded = Sh(fmt::format("cd '{}' && sha256sum -c '{}.sha256'", kBundle.parent_path().string(),
                                          kBundle.filename().string()));
  CHECK(recorded.exit_code == 0);
}

TEST_CASE("Every file of the bundle asks for at most glibc 2.35 and GCC 12's libstdc++, so it loads on Ubuntu 22.04 "
          "as on Debian 12", "[packaging]") {
  // Ubuntu 22.04 has glibc 2.35 and libstdc++ of GCC 12 (GLIBCXX_3.4.30);
  // Debian 12 has 2.36 and the same libstdc++. Debian's own libstdc++ asks
  // for glibc 2.36, so the bundle leaves the compiler's runtime to the host.
  Unpacked b;
  CHECK_FALSE(fs::exists(b.tree / "lib/libstdc++.so.6"));
  CHECK_FALSE(fs::exists(b.tree / "lib/libgcc_s.so.1"));
  auto highest = [](const std::string& symbols, const std::string& prefix) {
    int most = 0;
    for (std::size_t at = symbols.find(prefix); at != std::string::npos; at = symbols.find(prefix, at + 1)) {
      most = std::max(most, std::atoi(symbols.c_str() + at + prefix.size()));
    }
    return most;
  };
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(b.tree)) {
    const std::string rel = fs::relative(e.path(), b.tree).string();
    if (!e.is_regular_file() || (rel.rfind("bin/", 0) != 0 && rel.rfind("lib/", 0) != 0)) continue;
    ProcessResult symbols = Sh(fmt::format("objdump -T '{}'", e.path().string()));
    INFO(rel << ": " << symbols.err);
    REQUIRE(symbols.exit_code == 0);
    CHECK(highest(symbols.out, "(GLIBC_2.") <= 35);
    CHECK(highest(symbols.out, "GLIBCXX_3.4.") <= 30);
    ++files;
  }
  CHECK(files >= 2);
}

TEST_CASE("On a minimal Debian 12 root without development packages, the bundle's clusterd and infer-engine run "
          "and ldd finds every library but the driver's libcuda.so.1", "[packaging]") {
  const fs::path root = TestRoot("debian12");
  if (!fs::exists(root / "etc/debian_version"))
    testing::SkipTest(fmt::format("no minimal Debian 12 root at {}: make it with scripts/make-test-roots "
                                  "(debootstrap from Debian's mirror)", root.string()));
  if (::geteuid() != 0) testing::SkipTest("not root: chroot and overlay mounts need root");
  Unpacked b;
  // The root, overlaid (nothing stays), with the bundle at /opt/clusterd and
  // the demo model at /opt/demo.
  const testing::OverlayRoot overlay(root, {{b.tree, "/opt/clusterd"}, {CLUSTER_SOURCE_DIR "/models/demo", "/opt/demo"}},
                                     false);
  auto in_root = [&](const std::string& script) { return overlay.Run(script); };

  ProcessResult packages = in_root("dpkg-query -W -f '${Package}\\n'");
  REQUIRE(packages.exit_code == 0);
  std::vector<std::string> installed = Lines(packages.out);
  REQUIRE(installed.size() > 50);
  for (const std::string& p : installed) {
    INFO(p);
    CHECK(p.find("-dev") == std::string::npos);
    CHECK(p != "gcc");
    CHECK(p.rfind("libssh", 0) != 0);     // clusterctl's, not the host's
    CHECK(p.rfind("libyaml-cpp", 0) != 0);
  }

  ProcessResult version = in_root("/opt/clusterd/bin/clusterd --version && /opt/clusterd/bin/infer-engine --version");
  INFO(version.out << version.err);
  REQUIRE(version.exit_code == 0);
  CHECK(version.out.rfind(fmt::format("clusterd {} (commit ", CLUSTER_VERSION), 0) == 0);
  CHECK(version.out.find(fmt::format("\ninfer-engine {} (commit ", CLUSTER_VERSION)) != std::string::npos);
  if (CLUSTER_WITH_CUDA) CHECK(version.out.find(", CUDA ") != std::string::npos);

  ProcessResult generate = in_root(
      "/opt/clusterd/bin/infer-engine generate --device cpu --model /opt/demo --prompt 'The capital of France is' "
      "--max-tokens 8 --temperature 0");
  INFO(generate.out << generate.err);
  CHECK(generate.exit_code == 0);
  CHECK(!generate.out.empty());

  for (const char* program : {"clusterd", "infer-engine"}) {
    ProcessResult ldd = in_root(fmt::format("ldd /opt/clusterd/bin/{}", program));
    INFO(program << ":\n" << ldd.out << ldd.err);
    std::vector<std::string> missing;
    for (const std::string& line : Lines(ldd.out)) {
      if (line.find("not found") != std::string::npos) missing.push_back(line.substr(0, line.find(" =>")));
    }
    // The CUDA runtime and NCCL open the driver's library themselves; only
    // it may be missing.
    for (const std::string& m : missing) CHECK(m == "\tlibcuda.so.1");
  }
}

}  // namespace cluster
