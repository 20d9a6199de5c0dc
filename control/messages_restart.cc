// The codec of restarts: the policy a `start` carries, where a deployment
// stands with it in a `status` reply, and `gang-restart` between agents.
#include "control/json_codec.h"
#include "control/messages.h"

namespace cluster::control::codec {

json Encode(const RestartPolicy& v) {
  return json{{"policy", RestartPolicyName(v.policy)},
              {"max_restarts", v.max_restarts},
              {"window_s", v.window_s},
              {"backoff_s", v.backoff_s}};
}

// The inventory's bounds (schema_restart.cc), so that a request cannot ask an
// agent for a restart loop the inventory would refuse.
Status Decode(const json& j, const Where& w, RestartPolicy* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("policy", &out->policy));
  CLUSTER_RETURN_IF_ERROR(o.Optional("max_restarts", &out->max_restarts));
  CLUSTER_RETURN_IF_ERROR(o.Optional("window_s", &out->window_s));
  CLUSTER_RETURN_IF_ERROR(o.Optional("backoff_s", &out->backoff_s));
  if (out->max_restarts < 1 || out->max_restarts > 100) return w.Field("max_restarts").Error("must be 1 to 100");
  if (out->window_s < 1 || out->window_s > 24 * 3600) return w.Field("window_s").Error("must be 1 to 86400");
  if (out->backoff_s < 1 || out->backoff_s > 3600) return w.Field("backoff_s").Error("must be 1 to 3600");
  return Status::Ok();
}

json Encode(const RestartState& v) {
  json j{{"policy", Encode(v.policy)},
         {"restarts", v.restarts},
         {"next_unix_ms", v.next_unix_ms},
         {"waiting", v.waiting},
         {"not_restarted", v.not_restarted}};
  if (v.last_failure.has_value()) j["last_failure"] = Encode(*v.last_failure);
  return j;
}

Status Decode(const json& j, const Where& w, RestartState* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("policy", &out->policy));
  CLUSTER_RETURN_IF_ERROR(o.Required("restarts", &out->restarts));
  CLUSTER_RETURN_IF_ERROR(o.Optional("last_failure", &out->last_failure));
  CLUSTER_RETURN_IF_ERROR(o.Optional("next_unix_ms", &out->next_unix_ms));
  CLUSTER_RETURN_IF_ERROR(o.Optional("waiting", &out->waiting));
  return o.Optional("not_restarted", &out->not_restarted);
}

json Encode(const GangRestartRequest& v) {
  return json{{"deployment", v.deployment}, {"generation", v.generation}, {"failure", Encode(v.failure)}};
}

Status Decode(const json& j, const Where& w, GangRestartRequest* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("deployment", &out->deployment));
  CLUSTER_RETURN_IF_ERROR(CheckDeploymentId(out->deployment, w.Field("deployment")));
  CLUSTER_RETURN_IF_ERROR(o.Required("generation", &out->generation));
  if (out->generation < 1) return w.Field("generation").Error("must be 1 or more");
  return o.Required("failure", &out->failure);
}

}  // namespace cluster::control::codec

namespace cluster::control {

nlohmann::json ToJson(const RestartState& v) { return codec::Encode(v); }

StatusOr<RestartState> RestartStateFromJson(const nlohmann::json& j) {
  RestartState value;
  CLUSTER_RETURN_IF_ERROR(codec::Decode(j, codec::Where{"restart", /*limited=*/false}, &value));
  return value;
}

}  // namespace cluster::control
