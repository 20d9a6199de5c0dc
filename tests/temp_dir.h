// A fresh folder for one test, removed with everything in it at its end.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace cluster::testing {

struct TempDir {
  // A new folder named PREFIX_XXXXXX in the system's temporary folder.
  explicit TempDir(const std::string& prefix = "test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "_XXXXXX")).string();
    if (::mkdtemp(pattern.data()) != nullptr) path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::filesystem::path path;
};

}  // namespace cluster::testing
