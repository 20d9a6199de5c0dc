#include "engine/tokenizer/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/json_fields.h"

namespace engine::tokenizer {
namespace {

using json_fields::Json;

// ICU's normalizer for `form`: a process-wide immutable singleton.
const icu::Normalizer2* IcuNormalizer(Normalizer::Form form, UErrorCode* error) {
  switch (form) {
    case Normalizer::Form::kNfc: return icu::Normalizer2::getNFCInstance(*error);
    case Normalizer::Form::kNfd: return icu::Normalizer2::getNFDInstance(*error);
    case Normalizer::Form::kNfkc: return icu::Normalizer2::getNFKCInstance(*error);
    case Normalizer::Form::kNfkd: return icu::Normalizer2::getNFKDInstance(*error);
  }
  return nullptr;
}

cluster::Status Collect(const Json& config, std::string_view where, std::vector<Normalizer::Form>* forms) {
  if (config.is_null()) return cluster::Status::Ok();
  if (!config.is_object()) return json_fields::TypeError(where, "an object or null", config);
  CLUSTER_ASSIGN_OR_RETURN(std::string type, json_fields::GetString(config, "type", where));
  static constexpr std::pair<std::string_view, Normalizer::Form> kForms[] = {
      {"NFC", Normalizer::Form::kNfc},
      {"NFD", Normalizer::Form::kNfd},
      {"NFKC", Normalizer::Form::kNfkc},
      {"NFKD", Normalizer::Form::kNfkd}};
  for (const auto& [name, form] : kForms) {
    if (type != name) continue;
    UErrorCode error = U_ZERO_ERROR;
    if (IcuNormalizer(form, &error) == nullptr || U_FAILURE(error)) {
      return cluster::InternalError(
          fmt::format("{}: ICU could not load its {} data: {}", where, type, u_errorName(error)));
    }
    forms->push_back(form);
    return cluster::Status::Ok();
  }
  if (type == "Sequence") {
    const std::string list_where = json_fields::Path(where, "normalizers");
    const Json* list = json_fields::Find(config, "normalizers");
    if (list == nullptr) return cluster::InvalidArgumentError(fmt::format("{}: missing", list_where));
    if (!list->is_array()) return json_fields::TypeError(list_where, "an array", *list);
    for (size_t i = 0; i < list->size(); ++i) {
      CLUSTER_RETURN_IF_ERROR(Collect((*list)[i], json_fields::Path(list_where, i), forms));
    }
    return cluster::Status::Ok();
  }
  return cluster::UnimplementedError(fmt::format(
      "{}.type \"{}\" is not supported (supported normalizers: NFC, NFD, NFKC, NFKD, Sequence)", where, type));
}

bool IsAscii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

cluster::StatusOr<Normalizer> Normalizer::FromJson(const Json& config, std::string_view where) {
  Normalizer normalizer;
  CLUSTER_RETURN_IF_ERROR(Collect(config, where, &normalizer.forms_));
  return normalizer;
}

std::string_view Normalizer::Normalize(std::string_view text, std::string* buffer) const {
  // ASCII is invariant under all four forms.
  if (forms_.empty() || IsAscii(text)) return text;
  std::string_view current = text;
  for (Form form : forms_) {
    UErrorCode error = U_ZERO_ERROR;
    const icu::Normalizer2* normalizer = IcuNormalizer(form, &error);
    const icu::StringPiece piece(current.data(), static_cast<int32_t>(current.size()));
    // ICU checks and normalizes UTF-8 directly; most text is normalized already.
    if (U_FAILURE(error) || normalizer->isNormalizedUTF8(piece, error) || U_FAILURE(error)) continue;
    std::string normalized;
    icu::StringByteSink<std::string> sink(&normalized, static_cast<int32_t>(current.size()));
    normalizer->normalizeUTF8(0, piece, sink, nullptr, error);
    if (U_FAILURE(error)) continue;  // cannot happen on valid UTF-8; keep the text as it was
    *buffer = std::move(normalized);
    current = *buffer;
  }
  return current;
}

}  // namespace engine::tokenizer
