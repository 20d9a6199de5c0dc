#include "engine/model/token_ids.h"

#include <limits>
#include <string>

namespace engine {

StatusOr<std::vector<std::int32_t>> ParseTokenIds(const model_json::Json& value, std::string_view key,
                                                   std::string_view file) {
  auto bad = [&](const model_json::Json& found) {
    return cluster::InvalidArgumentError(std::string(file) + ": field " + std::string(key) +
                                         ": expected a token id or a list of token ids, found " +
                                         model_json::Describe(found));
  };
  auto one = [](const model_json::Json& v) {
    return v.is_number_integer() && v.get<std::int64_t>() >= 0 &&
           v.get<std::int64_t>() <= std::numeric_limits<std::int32_t>::max();
  };
  std::vector<std::int32_t> ids;
  if (value.is_null()) return ids;
  if (one(value)) {
    ids.push_back(static_cast<std::int32_t>(value.get<std::int64_t>()));
    return ids;
  }
  if (!value.is_array()) return bad(value);
  for (const auto& v : value) {
    if (!one(v)) return bad(v);
    ids.push_back(static_cast<std::int32_t>(v.get<std::int64_t>()));
  }
  return ids;
}

}  // namespace engine
