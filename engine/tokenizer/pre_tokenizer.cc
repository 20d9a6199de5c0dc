#include "engine/tokenizer/pre_tokenizer.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/json_fields.h"
#include "engine/tokenizer/utf8.h"

namespace engine::tokenizer {
namespace {

using json_fields::Json;

// The pattern ByteLevel uses when use_regex is true (GPT-2's).
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct Leaf {
  const Json* config;
  std::string where;
};

// Flattens nested Sequences into the list of steps they run, in order.
cluster::Status Flatten(const Json& config, const std::string& where, std::vector<Leaf>* leaves) {
  if (!config.is_object()) return json_fields::TypeError(where, "an object or null", config);
  CLUSTER_ASSIGN_OR_RETURN(std::string type, json_fields::GetString(config, "type", where));
  if (type != "Sequence") {
    leaves->push_back({&config, where});
    return cluster::Status::Ok();
  }
  const std::string list_where = json_fields::Path(where, "pretokenizers");
  const Json* list = json_fields::Find(config, "pretokenizers");
  if (list == nullptr) return cluster::InvalidArgumentError(fmt::format("{}: missing", list_where));
  if (!list->is_array()) return json_fields::TypeError(list_where, "an array", *list);
  for (size_t i = 0; i < list->size(); ++i) {
    CLUSTER_RETURN_IF_ERROR(Flatten((*list)[i], json_fields::Path(list_where, i), leaves));
  }
  return cluster::Status::Ok();
}

cluster::StatusOr<SplitBehavior> ParseBehavior(const Json& config, std::string_view where) {
  CLUSTER_ASSIGN_OR_RETURN(std::string name, json_fields::GetString(config, "behavior", where));
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  return cluster::InvalidArgumentError(fmt::format(
      "{}: unknown behavior \"{}\" (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)",
      json_fields::Path(where, "behavior"), name));
}

cluster::StatusOr<SplitPattern> ParsePattern(const Json& config, std::string_view where) {
  const std::string pattern_where = json_fields::Path(where, "pattern");
  const Json* pattern = json_fields::Find(config, "pattern");
  if (pattern == nullptr) return cluster::InvalidArgumentError(fmt::format("{}: missing", pattern_where));
  if (const Json* regex = json_fields::Find(*pattern, "Regex"); regex != nullptr && regex->is_string()) {
    return SplitPattern::FromRegex(regex->get_ref<const std::string&>(), json_fields::Path(pattern_where, "Regex"));
  }
  if (const Json* literal = json_fields::Find(*pattern, "String"); literal != nullptr && literal->is_string()) {
    return SplitPattern::FromLiteral(literal->get_ref<const std::string&>(),
                                     json_fields::Path(pattern_where, "String"));
  }
  return json_fields::TypeError(pattern_where, "{\"Regex\": string} or {\"String\": string}", *pattern);
}

}  // namespace

cluster::StatusOr<PreTokenizer> PreTokenizer::FromJson(const Json& config, std::string_view where) {
  PreTokenizer result;
  if (config.is_null()) return result;
  std::vector<Leaf> leaves;
  CLUSTER_RETURN_IF_ERROR(Flatten(config, std::string(where), &leaves));
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (result.byte_level_) {
      return cluster::UnimplementedError(fmt::format(
          "{}: a pre-tokenizer after ByteLevel is not supported (ByteLevel must come last)", leaves[i].where));
    }
    CLUSTER_RETURN_IF_ERROR(result.Add(*leaves[i].config, leaves[i].where));
  }
  return result;
}

cluster::Status PreTokenizer::Add(const Json& config, std::string_view where) {
  CLUSTER_ASSIGN_OR_RETURN(std::string type, json_fields::GetString(config, "type", where));
  Step step;
  if (type == "Split") {
    CLUSTER_ASSIGN_OR_RETURN(step.pattern, ParsePattern(config, where));
    CLUSTER_ASSIGN_OR_RETURN(step.behavior, ParseBehavior(config, where));
    CLUSTER_ASSIGN_OR_RETURN(step.invert, json_fields::GetBool(config, "invert", false, where));
    steps_.push_back(std::move(step));
    return cluster::Status::Ok();
  }
  if (type == "ByteLevel") {
    byte_level_ = true;
    CLUSTER_ASSIGN_OR_RETURN(step.add_prefix_space, json_fields::GetBool(config, "add_prefix_space", false, where));
    CLUSTER_ASSIGN_OR_RETURN(bool use_regex, json_fields::GetBool(config, "use_regex", true, where));
    if (use_regex) {
      CLUSTER_ASSIGN_OR_RETURN(step.pattern, SplitPattern::FromRegex(kGpt2Pattern, where));
    }
    if (step.pattern || step.add_prefix_space) steps_.push_back(std::move(step));
    return cluster::Status::Ok();
  }
  return cluster::UnimplementedError(
      fmt::format("{}.type \"{}\" is not supported (supported pre-tokenizers: Split, ByteLevel, Sequence)",
                  where, type));
}

void PreTokenizer::Split(std::string_view text, Scratch* scratch, std::vector<std::string_view>* pieces) const {
  pieces->clear();
  scratch->owned.clear();
  if (text.empty()) return;
  pieces->push_back(text);
  for (const Step& step : steps_) {
    scratch->next.clear();
    for (std::string_view piece : *pieces) ApplyStep(step, piece, scratch, &scratch->next);
    pieces->swap(scratch->next);
  }
}

void PreTokenizer::ApplyStep(const Step& step, std::string_view piece, Scratch* scratch,
                             std::vector<std::string_view>* out) const {
  if (step.add_prefix_space && !piece.starts_with(' ')) {
    scratch->owned.push_back(" ");
    scratch->owned.back().append(piece);
    piece = scratch->owned.back();
  }
  if (!step.pattern) {
    out->push_back(piece);
    return;
  }
  // Iterate matches the way JavaScript's matchAll and HF do: after an empty
  // match, resume one character later; an empty match still cuts the text.
  auto for_each_match = [&](auto&& on_match) {
    size_t from = 0;
    size_t begin = 0, end = 0;
    while (step.pattern->Find(piece, from, &scratch->match_state, &begin, &end)) {
      on_match(begin, end);
      if (end > begin) {
        from = end;
      } else {
        if (end >= piece.size()) break;
        from = end + utf8::ReadChar(piece, end).length;
      }
    }
  };

  if (step.behavior == SplitBehavior::kIsolated && !step.invert) {
    // The common case (Llama 3, Qwen, DeepSeek): every gap and every match is a pre-token.
    size_t previous = 0;
    for_each_match([&](size_t begin, size_t end) {
      if (begin > previous) out->push_back(piece.substr(previous, begin - previous));
      if (end > begin) out->push_back(piece.substr(begin, end - begin));
      previous = end;
    });
    if (previous < piece.size()) out->push_back(piece.substr(previous));
    return;
  }

  // General case: label the text as match / non-match ranges, then combine
  // them as the behavior says (same rules as the Rust tokenizers crate).
  using Range = Scratch::Range;
  std::vector<Range>& ranges = scratch->ranges;
  ranges.clear();
  size_t previous = 0;
  for_each_match([&](size_t begin, size_t end) {
    if (begin > previous) ranges.push_back({previous, begin, step.invert});
    ranges.push_back({begin, end, !step.invert});
    previous = end;
  });
  if (previous < piece.size()) ranges.push_back({previous, piece.size(), step.invert});

  auto emit = [&](size_t begin, size_t end) {
    if (end > begin) out->push_back(piece.substr(begin, end - begin));
  };
  switch (step.behavior) {
    case SplitBehavior::kIsolated:
      for (const Range& r : ranges) emit(r.begin, r.end);
      break;
    case SplitBehavior::kRemoved:
      for (const Range& r : ranges) {
        if (!r.is_match) emit(r.begin, r.end);
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
    case SplitBehavior::kContiguous: {
      // A match joins the range before it (MergedWithPrevious: only if that one
      // was not a match; Contiguous: only if it was).
      const bool contiguous = step.behavior == SplitBehavior::kContiguous;
      std::vector<Range> merged;
      bool previous_match = false;
      for (const Range& r : ranges) {
        const bool join = contiguous ? r.is_match == previous_match : (r.is_match && !previous_match);
        if (join && !merged.empty()) {
          merged.back().end = r.end;
        } else {
          merged.push_back(r);
        }
        previous_match = r.is_match;
      }
      for (const Range& r : merged) emit(r.begin, r.end);
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      // Mirror image: a match joins the range after it, if that one is not a match.
      std::vector<Range> merged;
      bool next_match = false;
      for (size_t i = ranges.size(); i-- > 0;) {
        const Range& r = ranges[i];
        if (r.is_match && !next_match && !merged.empty()) {
          merged.back().begin = r.begin;
        } else {
          merged.push_back(r);
        }
        next_match = r.is_match;
      }
      for (size_t i = merged.size(); i-- > 0;) emit(merged[i].begin, merged[i].end);
      break;
    }
  }
}

}  // namespace engine::tokenizer
