// The codec of what a running deployment reports: `status` (units and the
// gang failure), `logs` and `gang-failure`.
#include "control/json_codec.h"
#include "control/messages.h"

namespace cluster::control {
namespace codec {

// ---- units and failures ---------------------------------------------------------
json Encode(const UnitStatus& v) {
  json j{{"name", v.name},
         {"pid", v.pid},
         {"state", UnitStateName(v.state)},
         {"restarts", v.restarts},
         {"started_unix_ms", v.started_unix_ms},
         {"ended_unix_ms", v.ended_unix_ms},
         {"log_file", v.log_file}};
  PutOptional(j, "rank", v.rank);
  PutOptional(j, "exit_code", v.exit_code);
  return j;
}

Status Decode(const json& j, const Where& w, UnitStatus* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("name", &out->name));
  CLUSTER_RETURN_IF_ERROR(o.Optional("rank", &out->rank));
  CLUSTER_RETURN_IF_ERROR(o.Required("pid", &out->pid));
  CLUSTER_RETURN_IF_ERROR(o.Required("state", &out->state));
  CLUSTER_RETURN_IF_ERROR(o.Optional("exit_code", &out->exit_code));
  CLUSTER_RETURN_IF_ERROR(o.Required("restarts", &out->restarts));
  CLUSTER_RETURN_IF_ERROR(o.Required("started_unix_ms", &out->started_unix_ms));
  CLUSTER_RETURN_IF_ERROR(o.Required("ended_unix_ms", &out->ended_unix_ms));
  return o.Required("log_file", &out->log_file);
}

json Encode(const GangFailure& v) {
  return json{{"host", v.host},
              {"unit", v.unit},
              {"message", v.message},
              {"log_tail", v.log_tail},
              {"unix_ms", v.unix_ms},
              {"cause", v.cause}};
}

Status Decode(const json& j, const Where& w, GangFailure* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("host", &out->host));
  CLUSTER_RETURN_IF_ERROR(o.Required("unit", &out->unit));
  CLUSTER_RETURN_IF_ERROR(o.Required("message", &out->message));
  CLUSTER_RETURN_IF_ERROR(o.Optional("log_tail", &out->log_tail));
  CLUSTER_RETURN_IF_ERROR(o.Optional("cause", &out->cause));
  if (out->cause != "failed" && out->cause != "exited" && out->cause != "agent-restarted")
    return w.Field("cause").Error("expected failed, exited or agent-restarted");
  return o.Required("unix_ms", &out->unix_ms);
}

json Encode(const GangFailureRequest& v) {
  return json{{"deployment", v.deployment}, {"failure", Encode(v.failure)}, {"generation", v.generation}};
}

Status Decode(const json& j, const Where& w, GangFailureRequest* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("deployment", &out->deployment));
  CLUSTER_RETURN_IF_ERROR(CheckDeploymentId(out->deployment, w.Field("deployment")));
  CLUSTER_RETURN_IF_ERROR(o.Optional("generation", &out->generation));
  return o.Required("failure", &out->failure);
}

// ---- status reply -----------------------------------------------------------------
Status Decode(const json& j, const Where& w, StatusReply* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("agent", &out->agent));
  CLUSTER_RETURN_IF_ERROR(o.Required("deployment", &out->deployment));
  CLUSTER_RETURN_IF_ERROR(o.Required("units", &out->units));
  CLUSTER_RETURN_IF_ERROR(o.Optional("failure", &out->failure));
  CLUSTER_RETURN_IF_ERROR(o.Optional("restart", &out->restart));
  return o.Required("gpus", &out->gpus);
}

// ---- logs -------------------------------------------------------------------------
json Encode(const LogsRequest& v) {
  json j{{"unit", v.unit}, {"since_unix_ms", v.since_unix_ms}, {"tail_lines", v.tail_lines}, {"follow", v.follow}};
  PutOptional(j, "rank", v.rank);
  return j;
}

// Every field is optional: an empty logs request reads every unit's whole log.
Status Decode(const json& j, const Where& w, LogsRequest* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Optional("unit", &out->unit));
  CLUSTER_RETURN_IF_ERROR(o.Optional("rank", &out->rank));
  CLUSTER_RETURN_IF_ERROR(o.Optional("since_unix_ms", &out->since_unix_ms));
  CLUSTER_RETURN_IF_ERROR(o.Optional("tail_lines", &out->tail_lines));
  return o.Optional("follow", &out->follow);
}

json Encode(const LogLine& v) { return json{{"unit", v.unit}, {"unix_ms", v.unix_ms}, {"text", v.text}}; }

Status Decode(const json& j, const Where& w, LogLine* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("unit", &out->unit));
  CLUSTER_RETURN_IF_ERROR(o.Required("unix_ms", &out->unix_ms));
  return o.Required("text", &out->text);
}

Status Decode(const json& j, const Where& w, LogsReply* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  return o.Required("lines", &out->lines);
}

}  // namespace codec

nlohmann::json ToJson(const StatusReply& v) {
  codec::json j{{"agent", ToJson(v.agent)},
                {"deployment", v.deployment},
                {"units", codec::EncodeList(v.units)},
                {"gpus", codec::EncodeList(v.gpus)}};
  if (v.failure.has_value()) j["failure"] = codec::Encode(*v.failure);
  if (v.restart.has_value()) j["restart"] = codec::Encode(*v.restart);
  return j;
}

nlohmann::json ToJson(const LogsReply& v) { return codec::json{{"lines", codec::EncodeList(v.lines)}}; }

}  // namespace cluster::control
