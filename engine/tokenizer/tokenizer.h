// Tokenizer: text <-> token ids for the models the engine serves, read from a
// Hugging Face tokenizer.json (Llama 3 / 3.1, Qwen 2 / 3, DeepSeek V3 and
// other byte-level BPE tokenizers).
//
// Encoding runs the same pipeline as Hugging Face, and gives the same ids:
//   1. added tokens (special or not) are cut out of the raw text first;
//   2. the normalizer (NFC, ...) runs on the text between them, then the
//      normalized added tokens are cut out;
//   3. the pre-tokenizer (Split regexes, ByteLevel) cuts the rest into
//      pre-tokens;
//   4. byte-level BPE turns each pre-token into ids;
//   5. with add_special_tokens, the post-processor adds e.g. the BOS id.
// What is supported and what is refused is listed in docs/tokenizer.md; an
// unsupported component is a load error that names it, never a silent
// difference in ids.
//
// Thread safety: a loaded Tokenizer is immutable (its internal pre-token cache
// and pool of working buffers are synchronised); Encode, Decode and the
// lookups may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace engine {

namespace tokenizer {
class Decoder;  // the internals live in engine::tokenizer (engine/tokenizer/*.h)
}  // namespace tokenizer

class Tokenizer {
 public:
  // Loads a tokenizer.json. `path` is the file itself or a folder holding it
  // (a model folder; only the tokenizer files need to be there). Errors:
  // NotFound if there is no such file, InvalidArgument for malformed JSON or
  // fields (the message names the field path), Unimplemented for a component
  // type this engine does not support (the message names the type).
  static cluster::StatusOr<std::unique_ptr<Tokenizer>> FromFile(const std::filesystem::path& path);

  // Loads from the text of a tokenizer.json; `origin` names it in errors.
  static cluster::StatusOr<std::unique_ptr<Tokenizer>> FromJsonText(std::string_view json_text,
                                                                    std::string_view origin);

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // The ids of `text`. Added tokens written in the text (e.g. "<|im_start|>")
  // always become their single id; add_special_tokens only controls whether
  // the post-processor adds its tokens (e.g. Llama 3.1's BOS). Ill-formed
  // UTF-8 in `text` is read as U+FFFD, one per maximal ill-formed subpart.
  std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens = false) const;

  // Appends the ids of `text` to `ids` (lets a caller reuse one buffer).
  void EncodeInto(std::string_view text, bool add_special_tokens, std::vector<int32_t>* ids) const;

  // The text of `ids`: bytes of consecutive tokens are joined and read as
  // UTF-8, ill-formed parts become U+FFFD; added tokens read as written.
  // Unknown ids are skipped. skip_special_tokens drops special added tokens.
  std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // The id of a token as spelled in tokenizer.json (added tokens first).
  std::optional<int32_t> TokenToId(std::string_view token) const;

  // The token of `id` as spelled in tokenizer.json, or "" for an unknown id.
  // The view lives as long as the Tokenizer.
  std::string_view IdToToken(int32_t id) const;

  // One more than the largest id (vocabulary and added tokens): the number
  // of rows an embedding table needs.
  size_t vocab_size() const;

  // True for added tokens marked "special" (e.g. <|eot_id|>, <|im_end|>).
  bool IsSpecial(int32_t id) const;

 private:
  friend class IncrementalDecoder;
  struct Parts;
  explicit Tokenizer(std::unique_ptr<Parts> parts);
  const tokenizer::Decoder& decoder() const;

  std::unique_ptr<Parts> parts_;
};

// Turns a stream of generated ids into text as it arrives, never emitting
// broken UTF-8: bytes that may still become a character are held back until
// the next ids complete it. What it emits, concatenated with Flush(), equals
// Tokenizer::Decode of all the ids; so U+FFFD appears exactly where Decode
// (and Hugging Face) would put it, and only once its bytes are known to be
// ill-formed.
//
// One instance per stream; not thread-safe. The Tokenizer must outlive it.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);

  // Adds one id; returns the text that is now complete (often "").
  std::string Push(int32_t id);

  // Ends the stream: returns what was held back, ill-formed parts as U+FFFD.
  std::string Flush();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  std::string pending_;  // bytes of an unfinished character (at most 3)
};

}  // namespace engine
