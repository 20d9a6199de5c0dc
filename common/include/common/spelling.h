// "Did you mean ...?" suggestions for misspelt inventory keys and values and
// for unknown subcommands of the programs (clusterctl, clusterd, infer-engine).
//
// Pure functions, no state.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cluster {

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

// What a program says when `word` names none of its `commands`:
//   "unknown command 'stauts'; did you mean 'status'?"
//   "unknown command 'frob'; the commands are validate, plan or push"
std::string UnknownCommandMessage(std::string_view word, const std::vector<std::string_view>& commands);

// The UnknownCommandMessage of a command line whose command is not one of
// `commands`, or nullopt. The command is the first of argv[1..argc) that is
// not one of `flags` (the program's options before the command, which take
// no value); an argument that starts with '-' and is not in `flags` ends the
// search (nullopt: the program's own parser reports it).
std::optional<std::string> UnknownCommandIn(int argc, const char* const* argv,
                                            const std::vector<std::string_view>& commands,
                                            const std::vector<std::string_view>& flags);

}  // namespace cluster
