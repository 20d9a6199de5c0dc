// Skipping a test that cannot run here, visibly.
//
// A test that needs something this machine lacks (a GPU, root, node) calls
// SkipTest("why"): it prints "skipped: why" and ends the process with exit
// code 4, which CTest reports as skipped (cluster_test sets SKIP_RETURN_CODE 4).
// Never return early from such a test instead: it would pass silently.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace cluster::testing {

inline constexpr int kSkipExitCode = 4;

[[noreturn]] inline void SkipTest(const std::string& reason) {
  std::printf("skipped: %s\n", reason.c_str());
  std::fflush(stdout);
  std::_Exit(kSkipExitCode);
}

}  // namespace cluster::testing
