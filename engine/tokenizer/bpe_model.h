// The tokenizer.json "model" of type "BPE": the vocabulary, the merge rules
// and the byte-pair encoding of one pre-token.
//
// Byte-level BPE (Llama 3, Qwen, DeepSeek) writes every vocabulary entry in
// the GPT-2 byte alphabet (byte_level.h). We translate the vocabulary to raw
// bytes once at load time and run BPE on the raw bytes of each pre-token:
// identical results, no per-character remapping while encoding.
//
// Encoding a pre-token (the same rules as Hugging Face):
//   1. ignore_merges: a pre-token that is a vocabulary entry is that one id.
//   2. Start from one symbol per byte (byte-level) or per character.
//   3. Repeatedly merge the adjacent pair with the lowest merge rank, the
//      leftmost one on ties, until no adjacent pair has a rule.
// Step 3 keeps the candidate pairs in a binary heap keyed (rank, position),
// packed in one integer, and the symbols in a doubly linked list over one
// array: O(n log n).
// Results are memoised per pre-token (piece_cache.h).
//
// Supported options: ignore_merges, unk_token, fuse_unk. Refused with a clear
// error: dropout > 0, byte_fallback, a non-empty continuing_subword_prefix or
// end_of_word_suffix (not used by byte-level BPE tokenizers).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "engine/tokenizer/merge_table.h"
#include "engine/tokenizer/piece_cache.h"
#include "engine/tokenizer/string_table.h"

namespace engine::tokenizer {

class BpeModel {
 public:
  // Working memory for Encode(), reused across calls on one thread.
  class Scratch {
   private:
    friend class BpeModel;
    struct Symbol {
      int32_t id;    // -1: unknown (never merges)
      int32_t prev;  // index of the previous live symbol, -1 at the start
      int32_t next;  // index of the next live symbol, -1 at the end
      bool live;
    };
    // A merge candidate: (rank << 32) | position of its left symbol, so that
    // the smallest integer is the lowest rank, leftmost on ties.
    using Candidate = uint64_t;
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
    std::vector<int32_t> ids;
  };

  // `model` is tokenizer.json's "model". `byte_level` says whether the
  // pre-tokens it will see are raw bytes to read in the GPT-2 byte alphabet.
  static cluster::StatusOr<std::unique_ptr<BpeModel>> FromJson(const nlohmann::json& model, bool byte_level,
                                                               std::string_view where);

  // Appends the ids of one pre-token to `ids`. Thread-safe.
  void Encode(std::string_view piece, Scratch* scratch, std::vector<int32_t>* ids) const;

  // The id of a vocabulary entry, spelled as in tokenizer.json.
  std::optional<int32_t> TokenToId(std::string_view token) const;

  // The vocabulary entry of `id` as in tokenizer.json, or "" if none.
  std::string_view IdToToken(int32_t id) const;

  // One more than the largest id in the vocabulary.
  size_t id_limit() const { return tokens_.size(); }

 private:
  BpeModel() : cache_(kCacheCapacity) {}
  cluster::Status LoadVocab(const nlohmann::json& vocab, std::string_view where);
  cluster::Status LoadMerges(const nlohmann::json& merges, std::string_view where);
  // The id of a whole pre-token (byte-level: raw bytes), or -1.
  int32_t PieceId(std::string_view piece, uint64_t hash) const;
  void Merge(std::string_view piece, Scratch* scratch) const;
  void EmitUnknown(std::vector<int32_t>* ids) const;

  static constexpr size_t kCacheCapacity = 1 << 16;
  static constexpr size_t kMaxCachedPiece = 256;  // bytes; longer pre-tokens are rare and not reused

  std::vector<std::string> tokens_;  // by id; "" where no token has the id
  StringTable token_ids_;            // spelled as in tokenizer.json -> id
  StringTable byte_piece_ids_;       // byte-level only: raw bytes -> id
  std::array<int32_t, 256> byte_ids_{};  // byte-level only: one byte -> id, or -1
  MergeTable merges_;
  bool byte_level_ = false;
  bool ignore_merges_ = false;
  bool fuse_unk_ = false;
  int32_t unk_id_ = -1;
  mutable PieceCache cache_;  // internally synchronised
};

}  // namespace engine::tokenizer
