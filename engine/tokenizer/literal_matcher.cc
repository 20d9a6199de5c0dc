#include "engine/tokenizer/literal_matcher.h"

#include <algorithm>

namespace engine::tokenizer {

LiteralMatcher::LiteralMatcher() : nodes_(1) {}

int32_t LiteralMatcher::Child(int32_t node, uint8_t byte) const {
  const auto& children = nodes_[static_cast<size_t>(node)].children;
  auto it = std::lower_bound(children.begin(), children.end(), byte,
                             [](const std::pair<uint8_t, int32_t>& c, uint8_t b) { return c.first < b; });
  return it != children.end() && it->first == byte ? it->second : -1;
}

void LiteralMatcher::Add(std::string_view literal, int32_t value) {
  if (literal.empty()) return;
  can_start_[static_cast<uint8_t>(literal[0])] = true;
  int32_t node = 0;
  for (char c : literal) {
    const auto byte = static_cast<uint8_t>(c);
    int32_t next = Child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_.emplace_back();
      auto& children = nodes_[static_cast<size_t>(node)].children;
      children.insert(std::upper_bound(children.begin(), children.end(), std::make_pair(byte, next)),
                      std::make_pair(byte, next));
    }
    node = next;
  }
  nodes_[static_cast<size_t>(node)].value = value;
}

bool LiteralMatcher::FindNext(std::string_view text, size_t from, Match* match) const {
  if (empty()) return false;
  for (size_t start = from; start < text.size(); ++start) {
    if (!can_start_[static_cast<uint8_t>(text[start])]) continue;
    int32_t node = 0;
    bool found = false;
    for (size_t pos = start; pos < text.size(); ++pos) {
      node = Child(node, static_cast<uint8_t>(text[pos]));
      if (node < 0) break;
      const int32_t value = nodes_[static_cast<size_t>(node)].value;
      if (value >= 0) {
        *match = {start, pos + 1, value};
        found = true;
      }
    }
    if (found) return true;
  }
  return false;
}

}  // namespace engine::tokenizer
