#include "engine/tokenizer/post_processor.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/json_fields.h"

namespace engine::tokenizer {
namespace {

using json_fields::Json;

// The ids of a SpecialToken item: special_tokens[name].ids.
cluster::StatusOr<std::vector<int32_t>> SpecialTokenIds(const Json& config, const std::string& name,
                                                        std::string_view where) {
  const std::string table_where = json_fields::Path(json_fields::Path(where, "special_tokens"), name);
  const Json* table = json_fields::Find(config, "special_tokens");
  const Json* entry = table == nullptr ? nullptr : json_fields::Find(*table, name);
  if (entry == nullptr) {
    return cluster::InvalidArgumentError(
        fmt::format("{}: missing (the template uses the special token \"{}\")", table_where, name));
  }
  const Json* ids = json_fields::Find(*entry, "ids");
  if (ids == nullptr || !ids->is_array()) {
    return cluster::InvalidArgumentError(fmt::format("{}.ids: expected an array of ids", table_where));
  }
  std::vector<int32_t> result;
  for (const Json& id : *ids) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      return cluster::InvalidArgumentError(fmt::format("{}.ids: expected an array of ids", table_where));
    }
    result.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  return result;
}

}  // namespace

cluster::StatusOr<PostProcessor> PostProcessor::FromJson(const Json& config, std::string_view where) {
  PostProcessor result;
  if (config.is_null()) return result;
  CLUSTER_RETURN_IF_ERROR(result.Add(config, where));
  return result;
}

cluster::Status PostProcessor::Add(const Json& config, std::string_view where) {
  if (!config.is_object()) return json_fields::TypeError(where, "an object or null", config);
  CLUSTER_ASSIGN_OR_RETURN(std::string type, json_fields::GetString(config, "type", where));
  if (type == "ByteLevel") return cluster::Status::Ok();
  if (type == "TemplateProcessing") return AddTemplate(config, where);
  if (type == "Sequence") {
    const std::string list_where = json_fields::Path(where, "processors");
    const Json* list = json_fields::Find(config, "processors");
    if (list == nullptr || !list->is_array()) {
      return cluster::InvalidArgumentError(fmt::format("{}: expected an array", list_where));
    }
    for (size_t i = 0; i < list->size(); ++i) {
      CLUSTER_RETURN_IF_ERROR(Add((*list)[i], json_fields::Path(list_where, i)));
    }
    return cluster::Status::Ok();
  }
  return cluster::UnimplementedError(fmt::format(
      "{}.type \"{}\" is not supported (supported post-processors: TemplateProcessing, ByteLevel, Sequence)",
      where, type));
}

cluster::Status PostProcessor::AddTemplate(const Json& config, std::string_view where) {
  // Each processor in a Sequence wraps what the previous ones produced.
  const std::string single_where = json_fields::Path(where, "single");
  const Json* single = json_fields::Find(config, "single");
  if (single == nullptr || !single->is_array()) {
    return cluster::InvalidArgumentError(fmt::format("{}: expected an array", single_where));
  }
  std::vector<int32_t> before, after;
  bool seen_sequence = false;
  for (size_t i = 0; i < single->size(); ++i) {
    const Json& item = (*single)[i];
    const std::string item_where = json_fields::Path(single_where, i);
    if (const Json* special = json_fields::Find(item, "SpecialToken"); special != nullptr) {
      CLUSTER_ASSIGN_OR_RETURN(std::string name, json_fields::GetString(*special, "id", item_where + ".SpecialToken"));
      CLUSTER_ASSIGN_OR_RETURN(std::vector<int32_t> ids, SpecialTokenIds(config, name, where));
      std::vector<int32_t>& side = seen_sequence ? after : before;
      side.insert(side.end(), ids.begin(), ids.end());
    } else if (const Json* sequence = json_fields::Find(item, "Sequence"); sequence != nullptr) {
      CLUSTER_ASSIGN_OR_RETURN(std::string id, json_fields::GetString(*sequence, "id", item_where + ".Sequence"));
      if (id != "A" || seen_sequence) {
        return cluster::InvalidArgumentError(
            fmt::format("{}: the single-sequence template must use sequence A exactly once", item_where));
      }
      seen_sequence = true;
    } else {
      return json_fields::TypeError(item_where, "{\"SpecialToken\": ...} or {\"Sequence\": ...}", item);
    }
  }
  if (!seen_sequence) {
    return cluster::InvalidArgumentError(fmt::format("{}: the template never places sequence A", single_where));
  }
  prefix_.insert(prefix_.begin(), before.begin(), before.end());
  suffix_.insert(suffix_.end(), after.begin(), after.end());
  return cluster::Status::Ok();
}

}  // namespace engine::tokenizer
