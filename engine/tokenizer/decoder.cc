#include "engine/tokenizer/decoder.h"

#include <algorithm>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/json_fields.h"
#include "engine/tokenizer/utf8.h"

namespace engine::tokenizer {
namespace {

// Replaces the ill-formed parts of out[run_start..] with U+FFFD.
void RepairRun(std::string* out, size_t run_start) {
  const std::string_view run = std::string_view(*out).substr(run_start);
  if (utf8::IsValid(run)) return;
  const std::string copy(run);
  out->resize(run_start);
  utf8::AppendLossy(copy, out);
}

}  // namespace

cluster::StatusOr<Decoder> Decoder::FromJson(const nlohmann::json& config, const BpeModel& model,
                                             const AddedVocabulary& added, std::string_view where) {
  if (config.is_null()) {
    return cluster::UnimplementedError(
        fmt::format("{}: missing (null); a byte-level BPE tokenizer needs the ByteLevel decoder", where));
  }
  if (!config.is_object()) return json_fields::TypeError(where, "an object", config);
  CLUSTER_ASSIGN_OR_RETURN(std::string type, json_fields::GetString(config, "type", where));
  if (type != "ByteLevel") {
    return cluster::UnimplementedError(
        fmt::format("{}.type \"{}\" is not supported (supported decoders: ByteLevel)", where, type));
  }

  size_t limit = model.id_limit();
  for (const AddedToken& token : added.tokens()) limit = std::max(limit, static_cast<size_t>(token.id) + 1);

  Decoder decoder;
  decoder.kinds_.assign(limit, Kind::kNone);
  decoder.special_.assign(limit, false);
  decoder.offsets_.reserve(limit + 1);
  for (size_t i = 0; i < limit; ++i) {
    const auto id = static_cast<int32_t>(i);
    decoder.offsets_.push_back(static_cast<uint32_t>(decoder.arena_.size()));
    if (const AddedToken* token = added.FindById(id); token != nullptr) {
      decoder.kinds_[i] = Kind::kVerbatim;
      decoder.special_[i] = token->special;
      decoder.arena_ += token->content;
      continue;
    }
    const std::string_view token = model.IdToToken(id);
    if (token.empty()) continue;
    decoder.kinds_[i] = Kind::kBytes;
    const size_t start = decoder.arena_.size();
    if (!byte_level::TokenToBytes(token, &decoder.arena_)) {
      decoder.arena_.resize(start);
      decoder.arena_ += token;
    }
  }
  decoder.offsets_.push_back(static_cast<uint32_t>(decoder.arena_.size()));
  return decoder;
}

void Decoder::Decode(std::span<const int32_t> ids, bool skip_special_tokens, std::string* out) const {
  size_t run_start = out->size();  // where the current run of joined bytes began
  for (int32_t id : ids) {
    const Kind k = kind(id);
    if (k == Kind::kNone) continue;
    if (skip_special_tokens && special_[static_cast<size_t>(id)]) continue;
    if (k == Kind::kVerbatim) {
      RepairRun(out, run_start);
      out->append(bytes(id));
      run_start = out->size();
    } else {
      out->append(bytes(id));
    }
  }
  RepairRun(out, run_start);
}

}  // namespace engine::tokenizer
