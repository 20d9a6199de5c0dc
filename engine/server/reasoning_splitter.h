// ReasoningSplitter: separates a reasoning model's streamed answer into
// reasoning_content and content.
//
// For templates whose generation prompt opens a "<think>" block
// (ChatTemplate::OpensThinkBlock(), the DeepSeek-R1 distills), the model's
// output starts inside the block:
//   "I should add 2 and 2.\n</think>\n\nThe answer is 4."
// Everything before the first "</think>" is reasoning; what follows is
// content, with its leading whitespace dropped. A model that writes the
// opening "<think>" again at the very start (after optional whitespace) has
// that tag dropped too. If "</think>" never comes (e.g. max_tokens ran out
// while thinking), all the text is reasoning and content is empty.
//
// Text arrives in chunks; a chunk may end inside a tag, so text that could be
// the start of "</think>" (or of a leading "<think>") is held back until the
// next chunk decides it. Invariant: the concatenation of every returned
// reasoning (resp. content), Flush included, is exactly the reasoning (resp.
// content) of the whole text as defined above.
//
// One per generated sequence; not thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace engine::server {

struct ReasoningPiece {
  std::string reasoning;
  std::string content;
};

class ReasoningSplitter {
 public:
  // Adds a chunk; returns what is now final.
  ReasoningPiece Push(std::string_view chunk);
  // End of the text: returns what was held back.
  ReasoningPiece Flush();
  // True once "</think>" has been seen.
  bool in_content() const { return state_ == State::kContent || state_ == State::kContentStarted; }

 private:
  enum class State {
    kStart,           // nothing but whitespace yet: a "<think>" here is dropped
    kReasoning,       // inside the block
    kContent,         // after "</think>", only whitespace so far (dropped)
    kContentStarted,  // content is flowing
  };
  State state_ = State::kStart;
  std::string pending_;  // received, not yet released (reasoning that may begin a tag)
};

}  // namespace engine::server
