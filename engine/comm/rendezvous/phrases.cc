#include "engine/comm/rendezvous/phrases.h"

#include <fmt/format.h>

namespace engine::phrases {

std::string Seconds(std::chrono::milliseconds duration) {
  const long long ms = duration.count();
  if (ms % 1000 == 0) return fmt::format("{} s", ms / 1000);
  return fmt::format("{:g} s", static_cast<double>(ms) / 1000.0);
}

std::string JoinRanks(const std::vector<int>& ranks) { return fmt::format("{}", fmt::join(ranks, ", ")); }

std::string RankList(const std::vector<int>& ranks) {
  return (ranks.size() == 1 ? "rank " : "ranks ") + JoinRanks(ranks);
}

}  // namespace engine::phrases
