// LiteralMatcher: finds the leftmost-longest occurrence of any of a fixed set
// of strings, the way Hugging Face finds added tokens (Aho-Corasick,
// MatchKind::LeftmostLongest): among matches starting at the earliest
// position, the longest wins.
//
// A byte trie walked from each candidate start. Positions whose byte cannot
// begin any literal are skipped by a 256-entry table, so plain text without
// special tokens costs one table lookup per byte.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace engine::tokenizer {

class LiteralMatcher {
 public:
  LiteralMatcher();

  // Adds a non-empty literal reported as `value`. Adding the same literal
  // again replaces its value.
  void Add(std::string_view literal, int32_t value);

  bool empty() const { return nodes_.size() == 1; }

  struct Match {
    size_t begin, end;
    int32_t value;
  };

  // The leftmost-longest match starting at or after `from`, if any.
  bool FindNext(std::string_view text, size_t from, Match* match) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // byte -> node index, sorted by byte
    int32_t value = -1;                                 // >= 0 where a literal ends
  };
  int32_t Child(int32_t node, uint8_t byte) const;

  std::vector<Node> nodes_;  // nodes_[0] is the root
  std::array<bool, 256> can_start_{};
};

}  // namespace engine::tokenizer
