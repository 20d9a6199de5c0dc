// A reasoning model's output (the template opened <think>) is split at the
// first </think>: reasoning before, content after, across any chunking.
#include "engine/server/reasoning_splitter.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace engine::server;

namespace {

// Feeds `chunks` and returns everything released, Flush included.
ReasoningPiece Split(const std::vector<std::string>& chunks) {
  ReasoningSplitter s;
  ReasoningPiece all;
  for (const std::string& c : chunks) {
    ReasoningPiece p = s.Push(c);
    all.reasoning += p.reasoning;
    all.content += p.content;
  }
  ReasoningPiece p = s.Flush();
  all.reasoning += p.reasoning;
  all.content += p.content;
  return all;
}

}  // namespace

TEST_CASE("Text before </think> is reasoning, text after it is content without leading whitespace") {
  ReasoningPiece p = Split({"Add 2 and 2.\n</think>\n\nThe answer is 4."});
  CHECK(p.reasoning == "Add 2 and 2.\n");
  CHECK(p.content == "The answer is 4.");
}

TEST_CASE("The closing tag is found when split across chunks, and never leaks into either part") {
  const std::string text = "think hard</think>answer";
  // Every way of cutting the text into two chunks gives the same split.
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    INFO("cut at " << cut);
    ReasoningPiece p = Split({text.substr(0, cut), text.substr(cut)});
    CHECK(p.reasoning == "think hard");
    CHECK(p.content == "answer");
  }
  ReasoningPiece one_by_one = Split({"a", "<", "/", "t", "h", "i", "n", "k", ">", "b"});
  CHECK(one_by_one.reasoning == "a");
  CHECK(one_by_one.content == "b");
}

TEST_CASE("Reasoning is released as it comes, holding back only what could begin </think>") {
  ReasoningSplitter s;
  CHECK(s.Push("Let me think").reasoning == "Let me think");
  ReasoningPiece held = s.Push(" about it </th");
  CHECK(held.reasoning == " about it ");
  ReasoningPiece not_a_tag = s.Push("ing");
  CHECK(not_a_tag.reasoning == "</thing");
  CHECK_FALSE(s.in_content());
  ReasoningPiece closing = s.Push("</think>Done");
  CHECK(closing.reasoning == "");
  CHECK(closing.content == "Done");
  CHECK(s.in_content());
  CHECK(s.Push(" more").content == " more");
}

TEST_CASE("An opening <think> the model writes again at the start is dropped") {
  ReasoningPiece p = Split({"<thi", "nk>\nreason</think>answer"});
  CHECK(p.reasoning == "\nreason");
  CHECK(p.content == "answer");
  ReasoningPiece spaced = Split({"\n<think>r</think>a"});
  CHECK(spaced.reasoning == "r");
  CHECK(spaced.content == "a");
}

TEST_CASE("Without </think> (e.g. max_tokens ran out while thinking) everything is reasoning") {
  ReasoningPiece p = Split({"still thinking </thi"});
  CHECK(p.reasoning == "still thinking </thi");
  CHECK(p.content == "");
}

TEST_CASE("Only the first </think> splits, later ones are content") {
  ReasoningPiece p = Split({"r</think>c</think>d"});
  CHECK(p.reasoning == "r");
  CHECK(p.content == "c</think>d");
}

TEST_CASE("Whitespace-only content chunks right after </think> are dropped") {
  ReasoningSplitter s;
  s.Push("r</think>");
  CHECK(s.Push("\n").content == "");
  CHECK(s.Push("\n Hi").content == "Hi");
  CHECK(s.Push("\n").content == "\n");
}
