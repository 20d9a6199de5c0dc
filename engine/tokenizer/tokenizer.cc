#include "engine/tokenizer/tokenizer.h"

#include <mutex>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "engine/tokenizer/added_vocabulary.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/json_fields.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/post_processor.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace engine {

using tokenizer::AddedToken;
using tokenizer::AddedVocabulary;
using tokenizer::BpeModel;
using tokenizer::Decoder;
using tokenizer::Normalizer;
using tokenizer::PostProcessor;
using tokenizer::PreTokenizer;
using tokenizer::TextSegment;
namespace json_fields = tokenizer::json_fields;
namespace utf8 = tokenizer::utf8;

namespace {

using json_fields::Json;

const Json& MemberOrNull(const Json& object, std::string_view key) {
  static const Json kNull;  // immutable
  const Json* value = json_fields::Find(object, key);
  return value == nullptr ? kNull : *value;
}

// nlohmann's parse errors start with "[json.exception.parse_error.101] ";
// the user needs the rest ("parse error at line 3, column 5: ...").
std::string CleanJsonError(std::string_view what) {
  const size_t close = what.find("] ");
  if (!what.starts_with("[json.exception.") || close == std::string_view::npos) return std::string(what);
  return std::string(what.substr(close + 2));
}

// Encode's working memory, reused for every segment and pre-token of a text
// and, through ScratchPool, across calls.
struct EncodeScratch {
  std::vector<TextSegment> raw_segments;
  std::vector<TextSegment> segments;
  std::string normalized;
  std::vector<std::string_view> pieces;
  PreTokenizer::Scratch pre;
  BpeModel::Scratch bpe;
};

// A free list of EncodeScratch, so that short texts do not pay a dozen
// allocations per call. Encode may run on many threads: each takes its own
// scratch and gives it back. The lock is held only to move a pointer.
class ScratchPool {
 public:
  std::unique_ptr<EncodeScratch> Take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) return std::make_unique<EncodeScratch>();
    std::unique_ptr<EncodeScratch> scratch = std::move(free_.back());
    free_.pop_back();
    return scratch;
  }

  void Give(std::unique_ptr<EncodeScratch> scratch) {
    // A scratch that grew on a huge text is freed rather than kept.
    if (scratch->pieces.capacity() > kMaxKeptPieces || scratch->normalized.capacity() > kMaxKeptBytes) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.size() < kMaxPooled) free_.push_back(std::move(scratch));
  }

 private:
  static constexpr size_t kMaxPooled = 64;
  static constexpr size_t kMaxKeptPieces = size_t{1} << 16;
  static constexpr size_t kMaxKeptBytes = size_t{1} << 20;
  std::mutex mutex_;
  std::vector<std::unique_ptr<EncodeScratch>> free_;  // guarded by mutex_
};

}  // namespace

struct Tokenizer::Parts {
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  std::unique_ptr<BpeModel> model;
  AddedVocabulary added;
  PostProcessor post_processor;
  Decoder decoder;
  mutable ScratchPool scratch_pool;
};

Tokenizer::Tokenizer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Tokenizer::~Tokenizer() = default;

cluster::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromFile(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::path file = path;
  if (std::filesystem::is_directory(path, ec)) file = path / "tokenizer.json";
  if (!std::filesystem::exists(file, ec)) {
    return cluster::NotFoundError(fmt::format(
        "{}: no such file; pass a tokenizer.json or the model folder that holds it", file.string()));
  }
  CLUSTER_ASSIGN_OR_RETURN(std::string text, cluster::ReadFile(file));
  return FromJsonText(text, file.string());
}

cluster::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJsonText(std::string_view json_text,
                                                                      std::string_view origin) {
  Json doc;
  try {
    doc = Json::parse(json_text);
  } catch (const Json::exception& e) {
    return cluster::InvalidArgumentError(fmt::format("{}: not valid JSON: {}", origin, CleanJsonError(e.what())));
  }
  if (!doc.is_object()) {
    return cluster::InvalidArgumentError(
        fmt::format("{}: expected a JSON object (a tokenizer.json), got {}", origin, json_fields::Describe(doc)));
  }
  // The component loaders check types before every access; this catch is the
  // edge where any exception left in the JSON library becomes a Status.
  try {
    auto parts = std::make_unique<Parts>();
    auto fail = [&](const cluster::Status& status) { return status.WithContext(origin); };

    auto normalizer = Normalizer::FromJson(MemberOrNull(doc, "normalizer"), "normalizer");
    if (!normalizer.ok()) return fail(normalizer.status());
    parts->normalizer = std::move(normalizer).value();

    auto pre_tokenizer = PreTokenizer::FromJson(MemberOrNull(doc, "pre_tokenizer"), "pre_tokenizer");
    if (!pre_tokenizer.ok()) return fail(pre_tokenizer.status());
    parts->pre_tokenizer = std::move(pre_tokenizer).value();

    const Json* model_json = json_fields::Find(doc, "model");
    if (model_json == nullptr) return fail(cluster::InvalidArgumentError("model: missing"));
    auto model = BpeModel::FromJson(*model_json, parts->pre_tokenizer.byte_level(), "model");
    if (!model.ok()) return fail(model.status());
    parts->model = std::move(model).value();

    auto added = AddedVocabulary::FromJson(MemberOrNull(doc, "added_tokens"), parts->normalizer, "added_tokens");
    if (!added.ok()) return fail(added.status());
    parts->added = std::move(added).value();

    auto post = PostProcessor::FromJson(MemberOrNull(doc, "post_processor"), "post_processor");
    if (!post.ok()) return fail(post.status());
    parts->post_processor = std::move(post).value();

    auto decoder = Decoder::FromJson(MemberOrNull(doc, "decoder"), *parts->model, parts->added, "decoder");
    if (!decoder.ok()) return fail(decoder.status());
    parts->decoder = std::move(decoder).value();

    return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(parts)));
  } catch (const std::exception& e) {
    return cluster::InternalError(
        fmt::format("{}: unexpected error while reading it: {}", origin, CleanJsonError(e.what())));
  }
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  EncodeInto(text, add_special_tokens, &ids);
  return ids;
}

void Tokenizer::EncodeInto(std::string_view text, bool add_special_tokens, std::vector<int32_t>* ids) const {
  const Parts& p = *parts_;
  std::string repaired;
  if (!utf8::IsValid(text)) {
    utf8::AppendLossy(text, &repaired);
    text = repaired;
  }
  if (add_special_tokens) ids->insert(ids->end(), p.post_processor.prefix().begin(), p.post_processor.prefix().end());

  std::unique_ptr<EncodeScratch> scratch = p.scratch_pool.Take();
  EncodeScratch& s = *scratch;
  s.raw_segments.clear();
  auto encode_text = [&](std::string_view stretch) {
    p.pre_tokenizer.Split(stretch, &s.pre, &s.pieces);
    for (std::string_view piece : s.pieces) p.model->Encode(piece, &s.bpe, ids);
  };

  p.added.SplitRaw(text, &s.raw_segments);
  for (const TextSegment& raw : s.raw_segments) {
    if (raw.token_id >= 0) {
      ids->push_back(raw.token_id);
      continue;
    }
    const std::string_view normalized = p.normalizer.Normalize(raw.text, &s.normalized);
    if (!p.added.has_normalized_tokens()) {
      encode_text(normalized);
      continue;
    }
    s.segments.clear();
    p.added.SplitNormalized(normalized, &s.segments);
    for (const TextSegment& segment : s.segments) {
      if (segment.token_id >= 0) {
        ids->push_back(segment.token_id);
      } else {
        encode_text(segment.text);
      }
    }
  }

  if (add_special_tokens) ids->insert(ids->end(), p.post_processor.suffix().begin(), p.post_processor.suffix().end());
  p.scratch_pool.Give(std::move(scratch));
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string text;
  parts_->decoder.Decode(ids, skip_special_tokens, &text);
  return text;
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  if (auto id = parts_->added.FindByContent(token)) return id;
  return parts_->model->TokenToId(token);
}

std::string_view Tokenizer::IdToToken(int32_t id) const {
  if (const AddedToken* token = parts_->added.FindById(id); token != nullptr) return token->content;
  return parts_->model->IdToToken(id);
}

const Decoder& Tokenizer::decoder() const { return parts_->decoder; }

size_t Tokenizer::vocab_size() const { return parts_->decoder.id_limit(); }

bool Tokenizer::IsSpecial(int32_t id) const { return parts_->decoder.special(id); }

}  // namespace engine
