#include "engine/server/request_body.h"

#include "engine/server/field_reader.h"

namespace engine::server {

ApiResult<nlohmann::json> ParseJsonObject(std::string_view body) {
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 9: ..."
    std::string detail = e.what();
    if (auto pos = detail.find("] "); pos != std::string::npos) detail = detail.substr(pos + 2);
    return InvalidRequest("We could not parse the JSON body of your request: " + detail +
                              ". Send a JSON object with Content-Type: application/json.",
                          std::nullopt, "invalid_json");
  }
  if (!value.is_object()) {
    return InvalidRequest("The request body must be a JSON object, but got " + JsonTypeName(value) + ".",
                          std::nullopt, "invalid_json");
  }
  return value;
}

}  // namespace engine::server
