// Logging to stderr with levels. Quiet by default: only warnings and errors
// are shown until the program raises verbosity (`-v` info, `-vv` debug).
//
// The level is process-wide and atomic; set it once at start-up from flags.
// Lines are written whole (one write per line) so concurrent threads never
// interleave within a line.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace cluster {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Maps a count of -v flags to a level: 0 -> warning, 1 -> info, 2+ -> debug.
LogLevel LogLevelFromVerbosity(int verbosity);

// Writes "[level] message\n" to stderr if `level` is enabled.
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < GetLogLevel()) return;
  LogLine(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace cluster

#define LOG_DEBUG(...) ::cluster::Log(::cluster::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) ::cluster::Log(::cluster::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARNING(...) ::cluster::Log(::cluster::LogLevel::kWarning, __VA_ARGS__)
#define LOG_ERROR(...) ::cluster::Log(::cluster::LogLevel::kError, __VA_ARGS__)
