// What a program of this project was built from: the release version, the
// source commit, and the CUDA runtime and NCCL that the engine of the same
// build was built against. `--version` of clusterctl, clusterd and
// infer-engine prints it, and a host bundle carries it in its BUILD_INFO file
// (docs/bundle.md).
//
// The values live in one generated translation unit (build_info.cc, written
// at build time by common/src/build_info.cmake), so a new commit relinks the
// programs and recompiles nothing else. Libraries may call these functions;
// the program that links them chooses the build_info library (a test builds a
// clusterd of another version by linking another one).
#pragma once

#include <string>
#include <string_view>

namespace cluster {

struct BuildInfo {
  const char* version;  // "0.1.0"
  const char* commit;   // "4f2a9c1e7b3d", "4f2a9c1e7b3d-dirty" (uncommitted changes), "unknown" outside git
  const char* cuda;     // the CUDA toolkit's version, "13.0.88"; "" in a build without CUDA
  const char* nccl;     // NCCL's version, "2.28.9"; "" in a build without NCCL
};

const BuildInfo& GetBuildInfo();

// One line for --version: "clusterd 0.1.0 (commit 4f2a9c1e7b3d, CUDA 13.0.88, NCCL 2.28.9)",
// or "... (commit 4f2a9c1e7b3d, CPU only: built without CUDA and NCCL)".
std::string VersionLine(std::string_view program);

}  // namespace cluster
