// What the packaging tests share: a shell script run to its end within a
// bound, and its output split into lines.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/subprocess.h"

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

}  // namespace cluster::testing
