// "Did you mean ...?" suggestions for misspelt keys and values.
//
// Internal to the inventory loader. Pure functions, no state.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cluster::inventory {

// Optimal-string-alignment distance between `a` and `b`, ignoring ASCII case and
// counting '-' and '_' as equal: insertions, deletions, substitutions and
// swaps of two neighbouring characters cost 1 each.
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate `word` most likely is a typo of, or nullopt when none is close
// enough to be worth suggesting. Close enough: an edit distance of at most a
// third of the longer word (at least 1), or else the one candidate that
// contains `word` or is contained in it (both at least 4 characters long:
// "tensor_parallel_size" -> "tensor_parallel"). Ties go to the earlier candidate.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string_view>& candidates);

// "a, b or c" -- for "expected one of ..." messages.
std::string JoinAlternatives(const std::vector<std::string_view>& words);

}  // namespace cluster::inventory
