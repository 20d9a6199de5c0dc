// How the communication layer's messages say durations and sets of ranks.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace engine::phrases {

// 60000 ms -> "60 s", 1500 ms -> "1.5 s", 250 ms -> "0.25 s".
std::string Seconds(std::chrono::milliseconds duration);
// {2} -> "rank 2", {2, 3} -> "ranks 2, 3".
std::string RankList(const std::vector<int>& ranks);
// {0, 1, 2} -> "0, 1, 2".
std::string JoinRanks(const std::vector<int>& ranks);

}  // namespace engine::phrases
