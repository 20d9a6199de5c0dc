#include "engine/server/request_body.h"

#include "common/untrusted_text.h"
#include "engine/server/field_reader.h"

namespace engine::server {

ApiResult<nlohmann::json> ParseJsonObject(std::string_view body) {
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::exception& e) {
    // A syntax error, or a number beyond a double (1e400: out_of_range.406).
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1,
    // column 9: ..." and quotes the client's bytes (a 4 MB number, a string
    // with control characters): only an excerpt is echoed.
    std::string_view detail = e.what();
    if (auto pos = detail.find("] "); pos != std::string_view::npos) detail.remove_prefix(pos + 2);
    return InvalidRequest("We could not parse the JSON body of your request: " + cluster::Excerpt(detail, 200) +
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
