// The tokenizer.json "pre_tokenizer": cuts normalized text into pre-tokens,
// the units BPE works on (words, number groups, punctuation runs, spaces).
//
// Supported: null (the whole text is one pre-token), "Split" with a "Regex"
// or "String" pattern, every behavior (Isolated, Removed, MergedWithPrevious,
// MergedWithNext, Contiguous) and "invert", "ByteLevel" (with use_regex the
// GPT-2 pattern splits first; add_prefix_space), and "Sequence" of those,
// where ByteLevel must come last (everything after it would see byte-level
// characters, which we never materialise). Other types are refused at load
// time with a message naming the type.
//
// Pre-tokens are views into the input text: no copies on the hot path.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "engine/tokenizer/split_pattern.h"

namespace engine::tokenizer {

// How a Split keeps the pieces its pattern matches (the HF enum, same names).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

class PreTokenizer {
 public:
  // Working memory for Split(), reused across calls on one thread.
  class Scratch {
   public:
    Scratch() = default;

   private:
    friend class PreTokenizer;
    struct Range {
      size_t begin, end;
      bool is_match;
    };
    MatchState match_state;
    std::vector<std::string_view> next;
    std::vector<Range> ranges;
    std::deque<std::string> owned;  // pre-tokens ByteLevel prefixed with a space
  };

  // `config` is tokenizer.json's "pre_tokenizer" (null: none).
  static cluster::StatusOr<PreTokenizer> FromJson(const nlohmann::json& config, std::string_view where);

  // Replaces *pieces with the pre-tokens of `text`, in order. Views point into
  // `text` or into `scratch`; both must outlive their use.
  // REQUIRES: `text` is valid UTF-8.
  void Split(std::string_view text, Scratch* scratch, std::vector<std::string_view>* pieces) const;

  // True if a ByteLevel step ends the chain: the pieces are then meant to be
  // read as bytes by a byte-level BPE.
  bool byte_level() const { return byte_level_; }

 private:
  struct Step {
    std::optional<SplitPattern> pattern;  // none: ByteLevel without use_regex
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false;  // ByteLevel's; runs before `pattern`
  };

  cluster::Status Add(const nlohmann::json& config, std::string_view where);
  void ApplyStep(const Step& step, std::string_view piece, Scratch* scratch,
                 std::vector<std::string_view>* out) const;

  std::vector<Step> steps_;
  bool byte_level_ = false;
};

}  // namespace engine::tokenizer
