#include "cli/transfer/size_text.h"

#include <fmt/format.h>

namespace cluster::cli {

std::string SizeText(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string RateText(double bytes_per_second) {
  if (bytes_per_second < 0) bytes_per_second = 0;
  return SizeText(static_cast<std::uint64_t>(bytes_per_second)) + "/s";
}

std::string DurationText(double seconds) {
  if (seconds < 10) return fmt::format("{:.1f}s", seconds);
  const long s = static_cast<long>(seconds + 0.5);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

}  // namespace cluster::cli
