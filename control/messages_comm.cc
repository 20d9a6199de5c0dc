// The codec of `comm-check`: bench-comm on this host's ranks of the world
// `check --comm` measures.
#include "control/json_codec.h"
#include "control/messages.h"

namespace cluster::control {
namespace codec {

json Encode(const CommCheckRequest& v) {
  return json{{"ranks", EncodeList(v.ranks)},
              {"sizes", v.sizes},
              {"iterations", v.iterations},
              {"timeout_s", v.timeout_s}};
}

Status Decode(const json& j, const Where& w, CommCheckRequest* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("ranks", &out->ranks));
  CLUSTER_RETURN_IF_ERROR(o.Optional("sizes", &out->sizes));
  CLUSTER_RETURN_IF_ERROR(o.Optional("iterations", &out->iterations));
  return o.Optional("timeout_s", &out->timeout_s);
}

json Encode(const CommCheckRank& v) {
  json j{{"rank", v.rank}, {"output", v.output}, {"error", v.error}};
  PutOptional(j, "exit_code", v.exit_code);
  return j;
}

Status Decode(const json& j, const Where& w, CommCheckRank* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("rank", &out->rank));
  CLUSTER_RETURN_IF_ERROR(o.Optional("exit_code", &out->exit_code));
  CLUSTER_RETURN_IF_ERROR(o.Required("output", &out->output));
  return o.Required("error", &out->error);
}

Status Decode(const json& j, const Where& w, CommCheckReply* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  return o.Required("ranks", &out->ranks);
}

}  // namespace codec

nlohmann::json ToJson(const CommCheckReply& v) { return nlohmann::json{{"ranks", codec::EncodeList(v.ranks)}}; }

}  // namespace cluster::control
