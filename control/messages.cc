// The request envelope, the small messages (hello, probe, stop, status,
// shutdown) and the public reply codec entry points. Facts are in
// messages_facts.cc; start, status, logs and gang failures in messages_units.cc;
// restart policies and gang restarts in messages_restart.cc.
#include "control/messages.h"

#include <array>
#include <string_view>

#include <fmt/format.h>

#include "control/json_codec.h"

namespace cluster::control {
namespace {

using codec::Decode;
using codec::Encode;
using codec::json;
using codec::Object;
using codec::Where;

// The wire names, in the order of Request's alternatives.
constexpr std::array<const char*, std::variant_size_v<Request>> kRequestTypes = {
    "hello", "facts", "probe", "start", "status", "logs", "stop", "gang-failure", "shutdown", "comm-check",
    "gang-restart"};

std::string AcceptedTypes() {
  std::string list;
  for (const char* name : kRequestTypes) list += (list.empty() ? "" : ", ") + std::string(name);
  return list;
}

// Decodes `body` as alternative `index` of Request.
template <std::size_t I = 0>
StatusOr<Request> DecodeAlternative(std::size_t index, const json& body, const Where& w) {
  if constexpr (I < std::variant_size_v<Request>) {
    if (index != I) return DecodeAlternative<I + 1>(index, body, w);
    std::variant_alternative_t<I, Request> value;
    CLUSTER_RETURN_IF_ERROR(Decode(body, w, &value));
    return Request(std::in_place_index<I>, std::move(value));
  } else {
    return InternalError("request alternative " + std::to_string(index) + " does not exist");
  }
}

// A reply decoded at the root `name` ("hello") without the request limits.
template <typename T>
StatusOr<T> DecodeReply(const json& j, const char* name) {
  T value;
  CLUSTER_RETURN_IF_ERROR(Decode(j, Where{name, /*limited=*/false}, &value));
  return value;
}

// An empty body: any object (fields a newer peer may add are ignored).
Status DecodeEmpty(const json& j, const Where& w) { return Object::Open(j, w).status(); }

}  // namespace

const char* RequestType(const Request& request) { return kRequestTypes[request.index()]; }

std::string DurationText(int seconds) {
  if (seconds % 3600 == 0) return fmt::format("{}h", seconds / 3600);
  if (seconds % 60 == 0) return fmt::format("{}m", seconds / 60);
  return fmt::format("{}s", seconds);
}

json EncodeRequest(const Request& request) {
  json body = std::visit([](const auto& r) { return Encode(r); }, request);
  return json{{"type", RequestType(request)}, {"body", std::move(body)}};
}

StatusOr<Request> DecodeRequest(const json& frame) {
  CLUSTER_ASSIGN_OR_RETURN(Object envelope, Object::Open(frame, Where{"request", true}));
  std::string type;
  CLUSTER_RETURN_IF_ERROR(envelope.Required("type", &type));
  for (std::size_t i = 0; i < kRequestTypes.size(); ++i) {
    if (type != kRequestTypes[i]) continue;
    // A request without fields may leave its body out.
    auto body = frame.find("body");
    const json empty = json::object();
    const json& body_json = (body == frame.end() || body->is_null()) ? empty : *body;
    return DecodeAlternative(i, body_json, Where{type, true});
  }
  std::string shown = type.size() > 64 ? type.substr(0, 64) + "..." : type;
  return InvalidArgumentError("unknown request type '" + shown + "'; this agent accepts: " + AcceptedTypes());
}

// ---- empty requests -----------------------------------------------------------
namespace codec {

json Encode(const HelloRequest&) { return json::object(); }
json Encode(const StatusRequest&) { return json::object(); }
json Encode(const ShutdownRequest&) { return json::object(); }
Status Decode(const json& j, const Where& w, HelloRequest*) { return DecodeEmpty(j, w); }
Status Decode(const json& j, const Where& w, StatusRequest*) { return DecodeEmpty(j, w); }
Status Decode(const json& j, const Where& w, ShutdownRequest*) { return DecodeEmpty(j, w); }

// ---- hello --------------------------------------------------------------------
Status Decode(const json& j, const Where& w, HelloReply* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("agent_version", &out->agent_version));
  CLUSTER_RETURN_IF_ERROR(o.Required("protocol", &out->protocol));
  CLUSTER_RETURN_IF_ERROR(o.Required("cluster", &out->cluster));
  CLUSTER_RETURN_IF_ERROR(o.Required("host", &out->host));
  CLUSTER_RETURN_IF_ERROR(o.Required("pid", &out->pid));
  CLUSTER_RETURN_IF_ERROR(o.Required("uptime_s", &out->uptime_s));
  return o.Required("unix_time_ms", &out->unix_time_ms);
}

// ---- probe --------------------------------------------------------------------
json Encode(const ProbeRequest& v) { return json{{"peer", v.peer}}; }

Status Decode(const json& j, const Where& w, ProbeRequest* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  return o.Required("peer", &out->peer);
}

Status Decode(const json& j, const Where& w, ProbeReply* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("reachable", &out->reachable));
  CLUSTER_RETURN_IF_ERROR(o.Required("rtt_ms", &out->rtt_ms));
  CLUSTER_RETURN_IF_ERROR(o.Required("source_address", &out->source_address));
  return o.Required("error", &out->error);
}

// ---- start reply ----------------------------------------------------------------
Status Decode(const json& j, const Where& w, StartReply* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  return o.Required("started", &out->started);
}

// ---- stop -----------------------------------------------------------------------
json Encode(const StopRequest& v) { return json{{"reason", v.reason}}; }

Status Decode(const json& j, const Where& w, StopRequest* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  return o.Optional("reason", &out->reason);
}

Status Decode(const json& j, const Where& w, StopReply* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("stopped", &out->stopped));
  return o.Required("left", &out->left);
}

}  // namespace codec

// ---- public reply codec -----------------------------------------------------------
json ToJson(const HelloReply& v) {
  return json{{"agent_version", v.agent_version}, {"protocol", v.protocol},     {"cluster", v.cluster},
              {"host", v.host},                   {"pid", v.pid},               {"uptime_s", v.uptime_s},
              {"unix_time_ms", v.unix_time_ms}};
}

json ToJson(const ProbeReply& v) {
  return json{{"reachable", v.reachable},
              {"rtt_ms", v.rtt_ms},
              {"source_address", v.source_address},
              {"error", v.error}};
}

json ToJson(const StartReply& v) { return json{{"started", v.started}}; }

json ToJson(const StopReply& v) { return json{{"stopped", v.stopped}, {"left", v.left}}; }

StatusOr<HelloReply> HelloReplyFromJson(const json& j) { return DecodeReply<HelloReply>(j, "hello"); }
StatusOr<NodeFacts> NodeFactsFromJson(const json& j) { return DecodeReply<NodeFacts>(j, "facts"); }
StatusOr<ProbeReply> ProbeReplyFromJson(const json& j) { return DecodeReply<ProbeReply>(j, "probe"); }
StatusOr<StartReply> StartReplyFromJson(const json& j) { return DecodeReply<StartReply>(j, "start"); }
StatusOr<StatusReply> StatusReplyFromJson(const json& j) { return DecodeReply<StatusReply>(j, "status"); }
StatusOr<LogsReply> LogsReplyFromJson(const json& j) { return DecodeReply<LogsReply>(j, "logs"); }
StatusOr<StopReply> StopReplyFromJson(const json& j) { return DecodeReply<StopReply>(j, "stop"); }
StatusOr<CommCheckReply> CommCheckReplyFromJson(const json& j) { return DecodeReply<CommCheckReply>(j, "comm-check"); }

}  // namespace cluster::control
