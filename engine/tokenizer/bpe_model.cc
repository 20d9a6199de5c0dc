#include "engine/tokenizer/bpe_model.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/json_fields.h"
#include "engine/tokenizer/utf8.h"

namespace engine::tokenizer {
namespace {

using json_fields::Json;

// Ids index dense tables; refuse absurd ones instead of allocating gigabytes.
constexpr int64_t kMaxId = int64_t{1} << 24;

// Splits a merge rule, "left right" or ["left", "right"], into its two tokens.
cluster::Status ParseMerge(const Json& rule, std::string_view where, std::string_view* left,
                           std::string_view* right) {
  if (rule.is_string()) {
    const std::string& text = rule.get_ref<const std::string&>();
    const size_t space = text.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == text.size() ||
        text.find(' ', space + 1) != std::string::npos) {
      return cluster::InvalidArgumentError(
          fmt::format("{}: expected two tokens separated by one space, got \"{}\"", where, text));
    }
    *left = std::string_view(text).substr(0, space);
    *right = std::string_view(text).substr(space + 1);
    return cluster::Status::Ok();
  }
  if (rule.is_array() && rule.size() == 2 && rule[0].is_string() && rule[1].is_string()) {
    *left = rule[0].get_ref<const std::string&>();
    *right = rule[1].get_ref<const std::string&>();
    return cluster::Status::Ok();
  }
  return json_fields::TypeError(where, "\"left right\" or [\"left\", \"right\"]", rule);
}

// A field that must be absent, null or the given neutral value.
cluster::Status RefuseOption(const Json& model, std::string_view key, std::string_view where,
                             std::string_view why) {
  const Json* value = json_fields::Find(model, key);
  if (value == nullptr) return cluster::Status::Ok();
  const bool neutral = (value->is_string() && value->get_ref<const std::string&>().empty()) ||
                       (value->is_boolean() && !value->get<bool>()) ||
                       (value->is_number() && value->get<double>() == 0.0);
  if (neutral) return cluster::Status::Ok();
  return cluster::UnimplementedError(
      fmt::format("{}: {} is not supported ({})", json_fields::Path(where, key), value->dump(), why));
}

}  // namespace

cluster::StatusOr<std::unique_ptr<BpeModel>> BpeModel::FromJson(const Json& model, bool byte_level,
                                                                 std::string_view where) {
  if (!model.is_object()) return json_fields::TypeError(where, "an object", model);
  CLUSTER_ASSIGN_OR_RETURN(std::string type, json_fields::GetString(model, "type", where));
  if (type != "BPE") {
    return cluster::UnimplementedError(
        fmt::format("{}.type \"{}\" is not supported (supported models: BPE)", where, type));
  }
  CLUSTER_RETURN_IF_ERROR(RefuseOption(model, "dropout", where, "BPE dropout is for training; set it to null"));
  CLUSTER_RETURN_IF_ERROR(RefuseOption(model, "byte_fallback", where, "byte-fallback BPE is not implemented"));
  CLUSTER_RETURN_IF_ERROR(RefuseOption(model, "continuing_subword_prefix", where, "not used by byte-level BPE"));
  CLUSTER_RETURN_IF_ERROR(RefuseOption(model, "end_of_word_suffix", where, "not used by byte-level BPE"));

  std::unique_ptr<BpeModel> result(new BpeModel());
  result->byte_level_ = byte_level;
  CLUSTER_ASSIGN_OR_RETURN(result->ignore_merges_, json_fields::GetBool(model, "ignore_merges", false, where));
  CLUSTER_ASSIGN_OR_RETURN(result->fuse_unk_, json_fields::GetBool(model, "fuse_unk", false, where));

  const Json* vocab = json_fields::Find(model, "vocab");
  if (vocab == nullptr) return cluster::InvalidArgumentError(fmt::format("{}.vocab: missing", where));
  CLUSTER_RETURN_IF_ERROR(result->LoadVocab(*vocab, json_fields::Path(where, "vocab")));

  CLUSTER_ASSIGN_OR_RETURN(std::string unk, json_fields::GetOptionalString(model, "unk_token", "", where));
  if (!unk.empty()) {
    auto id = result->TokenToId(unk);
    if (!id) {
      return cluster::InvalidArgumentError(
          fmt::format("{}.unk_token: \"{}\" is not in the vocabulary", where, unk));
    }
    result->unk_id_ = *id;
  }

  const Json* merges = json_fields::Find(model, "merges");
  if (merges == nullptr) return cluster::InvalidArgumentError(fmt::format("{}.merges: missing", where));
  CLUSTER_RETURN_IF_ERROR(result->LoadMerges(*merges, json_fields::Path(where, "merges")));
  return result;
}

cluster::Status BpeModel::LoadVocab(const Json& vocab, std::string_view where) {
  if (!vocab.is_object()) return json_fields::TypeError(where, "an object of token: id", vocab);
  int64_t max_id = -1;
  token_ids_.Reserve(vocab.size());
  for (const auto& [token, value] : vocab.items()) {
    if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() >= kMaxId) {
      return cluster::InvalidArgumentError(fmt::format(
          "{}: the id of \"{}\" must be an integer from 0 to {}, got {}", where, token, kMaxId - 1, value.dump()));
    }
    const int64_t id = value.get<int64_t>();
    token_ids_.Insert(token, StringTable::Hash(token), static_cast<uint32_t>(id));
    max_id = std::max(max_id, id);
  }
  tokens_.assign(static_cast<size_t>(max_id + 1), std::string());
  for (const auto& [token, value] : vocab.items()) tokens_[value.get<size_t>()] = token;

  byte_ids_.fill(-1);
  if (byte_level_) {
    // Entries outside the byte alphabet (e.g. special tokens listed in the
    // vocabulary) can never come out of byte-level BPE; they stay reachable
    // as added tokens.
    byte_piece_ids_.Reserve(vocab.size());
    std::string bytes;
    for (size_t id = 0; id < tokens_.size(); ++id) {
      bytes.clear();
      if (!byte_level::TokenToBytes(tokens_[id], &bytes) || bytes.empty()) continue;
      if (bytes.size() == 1) byte_ids_[static_cast<uint8_t>(bytes[0])] = static_cast<int32_t>(id);
      byte_piece_ids_.Insert(bytes, StringTable::Hash(bytes), static_cast<uint32_t>(id));
    }
  }
  return cluster::Status::Ok();
}

cluster::Status BpeModel::LoadMerges(const Json& merges, std::string_view where) {
  if (!merges.is_array()) return json_fields::TypeError(where, "an array", merges);
  merges_.Reserve(merges.size());
  std::string joined;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string rule_where = json_fields::Path(where, rank);
    std::string_view left, right;
    CLUSTER_RETURN_IF_ERROR(ParseMerge(merges[rank], rule_where, &left, &right));
    auto left_id = TokenToId(left);
    auto right_id = TokenToId(right);
    joined.assign(left).append(right);
    auto merged_id = TokenToId(joined);
    for (auto [id, token] : {std::pair{left_id, std::string_view(left)}, std::pair{right_id, std::string_view(right)},
                             std::pair{merged_id, std::string_view(joined)}}) {
      if (!id) {
        return cluster::InvalidArgumentError(
            fmt::format("{}: token \"{}\" is not in the vocabulary", rule_where, token));
      }
    }
    merges_.Insert(*left_id, *right_id, {static_cast<int32_t>(rank), *merged_id});
  }
  return cluster::Status::Ok();
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view token) const {
  const uint32_t* id = token_ids_.Find(token, StringTable::Hash(token));
  if (id == nullptr) return std::nullopt;
  return static_cast<int32_t>(*id);
}

std::string_view BpeModel::IdToToken(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) return {};
  return tokens_[static_cast<size_t>(id)];
}

int32_t BpeModel::PieceId(std::string_view piece, uint64_t hash) const {
  const StringTable& table = byte_level_ ? byte_piece_ids_ : token_ids_;
  const uint32_t* id = table.Find(piece, hash);
  return id == nullptr ? -1 : static_cast<int32_t>(*id);
}

void BpeModel::Encode(std::string_view piece, Scratch* scratch, std::vector<int32_t>* ids) const {
  if (piece.empty()) return;
  if (byte_level_ && piece.size() == 1) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(piece[0])];
    if (id >= 0) {
      ids->push_back(id);
    } else {
      EmitUnknown(ids);
    }
    return;
  }
  // The cache holds the words of the text seen so far: a small, hot table,
  // so it goes before the large vocabulary even when ignore_merges would
  // answer from the vocabulary.
  const uint64_t hash = StringTable::Hash(piece);
  const bool cacheable = piece.size() <= kMaxCachedPiece;
  if (cacheable && cache_.Lookup(piece, hash, ids)) return;
  scratch->ids.clear();
  const int32_t whole = ignore_merges_ ? PieceId(piece, hash) : -1;
  if (whole >= 0) {
    scratch->ids.push_back(whole);
  } else {
    Merge(piece, scratch);
  }
  ids->insert(ids->end(), scratch->ids.begin(), scratch->ids.end());
  if (cacheable) cache_.Insert(piece, hash, scratch->ids);
}

void BpeModel::EmitUnknown(std::vector<int32_t>* ids) const {
  // Without an unk_token, Hugging Face drops what the vocabulary cannot spell.
  if (unk_id_ < 0) return;
  if (fuse_unk_ && !ids->empty() && ids->back() == unk_id_) return;
  ids->push_back(unk_id_);
}

void BpeModel::Merge(std::string_view piece, Scratch* scratch) const {
  using Symbol = Scratch::Symbol;
  using Candidate = Scratch::Candidate;
  static_assert(sizeof(Candidate) == 8);
  std::vector<Symbol>& symbols = scratch->symbols;
  std::vector<Candidate>& heap = scratch->heap;
  symbols.clear();
  heap.clear();

  // One symbol per byte (byte-level) or per character.
  if (byte_level_) {
    for (char c : piece) {
      const auto i = static_cast<int32_t>(symbols.size());
      symbols.push_back({byte_ids_[static_cast<uint8_t>(c)], i - 1, i + 1, true});
    }
  } else {
    for (size_t pos = 0; pos < piece.size();) {
      const size_t length = utf8::ReadChar(piece, pos).length;
      const auto i = static_cast<int32_t>(symbols.size());
      const std::string_view c = piece.substr(pos, length);
      symbols.push_back({PieceId(c, StringTable::Hash(c)), i - 1, i + 1, true});
      pos += length;
    }
  }
  symbols.back().next = -1;

  // Min-heap on (rank, position): the lowest rank first, the leftmost on ties.
  auto consider = [&](int32_t pos) {
    const Symbol& left = symbols[static_cast<size_t>(pos)];
    const Symbol& right = symbols[static_cast<size_t>(left.next)];
    if (left.id < 0 || right.id < 0) return;
    const MergeTable::Merge* merge = merges_.Find(left.id, right.id);
    if (merge == nullptr) return;
    heap.push_back((static_cast<uint64_t>(merge->rank) << 32) | static_cast<uint32_t>(pos));
    std::push_heap(heap.begin(), heap.end(), std::greater<>());
  };
  for (int32_t pos = 0; pos + 1 < static_cast<int32_t>(symbols.size()); ++pos) consider(pos);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const Candidate top = heap.back();
    heap.pop_back();
    const auto rank = static_cast<int32_t>(top >> 32);
    const auto pos = static_cast<int32_t>(top & 0xFFFFFFFFu);
    Symbol& left = symbols[static_cast<size_t>(pos)];
    if (!left.live || left.next < 0) continue;
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    // Skip candidates made stale by an earlier merge: ranks are unique per
    // pair, so the pair now at this position is the one the candidate was
    // made for exactly when its rule has the candidate's rank.
    const MergeTable::Merge* merge = merges_.Find(left.id, right.id);
    if (merge == nullptr || merge->rank != rank) continue;
    left.id = merge->merged_id;
    right.live = false;
    left.next = right.next;
    if (left.next >= 0) symbols[static_cast<size_t>(left.next)].prev = pos;
    if (left.prev >= 0) consider(left.prev);
    if (left.next >= 0) consider(pos);
  }

  // Symbol 0 only ever absorbs its right neighbour, so it heads the list.
  for (int32_t i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
    const int32_t id = symbols[static_cast<size_t>(i)].id;
    if (id >= 0) {
      scratch->ids.push_back(id);
    } else {
      EmitUnknown(&scratch->ids);
    }
  }
}

}  // namespace engine::tokenizer
