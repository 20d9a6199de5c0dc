#include "engine/server/reasoning_splitter.h"

#include <algorithm>

namespace engine::server {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Length of the longest suffix of `text` that is a proper prefix of `tag`.
std::size_t PartialTagSuffix(std::string_view text, std::string_view tag) {
  for (std::size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

ReasoningPiece ReasoningSplitter::Push(std::string_view chunk) {
  ReasoningPiece out;
  if (state_ == State::kContentStarted) {
    out.content.assign(chunk);
    return out;
  }
  if (state_ == State::kContent) {
    std::size_t start = 0;
    while (start < chunk.size() && IsSpace(chunk[start])) ++start;
    if (start < chunk.size()) {
      state_ = State::kContentStarted;
      out.content.assign(chunk.substr(start));
    }
    return out;
  }
  pending_.append(chunk);
  if (state_ == State::kStart) {
    std::size_t first = 0;
    while (first < pending_.size() && IsSpace(pending_[first])) ++first;
    const std::string_view rest = std::string_view(pending_).substr(first);
    if (rest.size() < kOpen.size() && kOpen.substr(0, rest.size()) == rest) return out;  // undecided
    if (rest.substr(0, kOpen.size()) == kOpen) pending_.erase(0, first + kOpen.size());
    state_ = State::kReasoning;
  }
  // kReasoning: release everything before "</think>", or all but a possible partial tag.
  if (const std::size_t close = pending_.find(kClose); close != std::string::npos) {
    out.reasoning = pending_.substr(0, close);
    std::string after = pending_.substr(close + kClose.size());
    pending_.clear();
    state_ = State::kContent;
    ReasoningPiece rest = Push(after);
    out.content = std::move(rest.content);
    return out;
  }
  const std::size_t keep = PartialTagSuffix(pending_, kClose);
  out.reasoning = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return out;
}

ReasoningPiece ReasoningSplitter::Flush() {
  ReasoningPiece out;
  if (state_ == State::kStart || state_ == State::kReasoning) out.reasoning = std::move(pending_);
  pending_.clear();
  return out;
}

}  // namespace engine::server
