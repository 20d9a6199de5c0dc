// Human sizes, durations and rates for push's messages and tables.
#pragma once

#include <cstdint>
#include <string>

namespace cluster::cli {

std::string SizeText(std::uint64_t bytes);         // "0 B", "512 B", "3.0 MiB", "141.2 GiB"
std::string RateText(double bytes_per_second);     // "112.4 MiB/s"
std::string DurationText(double seconds);          // "0.4s", "12s", "3m05s", "1h02m"

}  // namespace cluster::cli
