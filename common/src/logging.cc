#include "common/logging.h"

#include <unistd.h>

#include <atomic>
#include <string>

namespace cluster {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kWarning};

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "?";
}
}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(level); }
LogLevel GetLogLevel() { return g_level.load(); }

LogLevel LogLevelFromVerbosity(int verbosity) {
  if (verbosity <= 0) return LogLevel::kWarning;
  if (verbosity == 1) return LogLevel::kInfo;
  return LogLevel::kDebug;
}

void LogLine(LogLevel level, std::string_view message) {
  if (level < GetLogLevel()) return;
  std::string line = fmt::format("[{}] {}\n", LevelName(level), message);
  // One write(2) per line keeps lines whole across threads.
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace cluster
