// Internal to the control library: the building blocks of the messages'
// strict JSON codec (messages*.cc). Not part of the protocol's interface.
//
// Decoding walks a JSON value with a Where: the path of the value in the
// message ("start.ranks[0].env"), which every error names, and whether the
// protocol's size limits apply. They apply to requests, which an agent reads
// from the network and must not let a peer make it allocate at will; replies
// come from an authenticated agent and are bounded by the frame size alone (a
// logs reply carries up to 1 MiB of lines).
//
// Nothing here throws: every nlohmann call used is a non-throwing one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "control/messages.h"

namespace cluster::control::codec {

inline constexpr std::size_t kMaxStringBytes = 4096;
inline constexpr std::size_t kMaxListItems = 256;
inline constexpr std::size_t kMaxEnvEntries = 64;

using nlohmann::json;

// The position of a value in a message being decoded.
struct Where {
  std::string path;   // "start.ranks[0]"
  bool limited;       // the size limits above apply (requests)

  Where Field(std::string_view key) const;
  Where Index(std::size_t i) const;
  // InvalidArgument "PATH: what".
  Status Error(std::string_view what) const;
};

// Scalars. Integers must be JSON integers (3.0 is refused) within range.
Status Decode(const json& j, const Where& w, std::string* out);
Status Decode(const json& j, const Where& w, bool* out);
Status Decode(const json& j, const Where& w, int* out);
Status Decode(const json& j, const Where& w, std::int64_t* out);
Status Decode(const json& j, const Where& w, std::uint64_t* out);
// A finite number (integer or not).
Status Decode(const json& j, const Where& w, double* out);
// An environment map: string values, keys on the allow-list
// (common/env_allow_list.h), at most kMaxEnvEntries entries when limited.
Status Decode(const json& j, const Where& w, std::map<std::string, std::string>* out);
// A deployment id names a folder of logs on every host: 1 to 64 of
// [A-Za-z0-9._-], starting with a letter or a digit (so never "." or "..").
Status CheckDeploymentId(const std::string& id, const Where& w);
Status Decode(const json& j, const Where& w, UnitState* out);
Status Decode(const json& j, const Where& w, RestartPolicyKind* out);

// Request bodies and replies (messages.cc, messages_facts.cc, messages_units.cc).
Status Decode(const json& j, const Where& w, HelloRequest* out);
Status Decode(const json& j, const Where& w, FactsRequest* out);
Status Decode(const json& j, const Where& w, ProbeRequest* out);
Status Decode(const json& j, const Where& w, StartRequest* out);
Status Decode(const json& j, const Where& w, StatusRequest* out);
Status Decode(const json& j, const Where& w, LogsRequest* out);
Status Decode(const json& j, const Where& w, StopRequest* out);
Status Decode(const json& j, const Where& w, GangFailureRequest* out);
Status Decode(const json& j, const Where& w, ShutdownRequest* out);
Status Decode(const json& j, const Where& w, CommCheckRequest* out);
Status Decode(const json& j, const Where& w, GangRestartRequest* out);
Status Decode(const json& j, const Where& w, CommCheckReply* out);
Status Decode(const json& j, const Where& w, CommCheckRank* out);
Status Decode(const json& j, const Where& w, HelloReply* out);
Status Decode(const json& j, const Where& w, NodeFacts* out);
Status Decode(const json& j, const Where& w, ProbeReply* out);
Status Decode(const json& j, const Where& w, StartReply* out);
Status Decode(const json& j, const Where& w, StatusReply* out);
Status Decode(const json& j, const Where& w, LogsReply* out);
Status Decode(const json& j, const Where& w, StopReply* out);

// Structs nested in messages.
Status Decode(const json& j, const Where& w, GpuFacts* out);
Status Decode(const json& j, const Where& w, InterfaceFacts* out);
Status Decode(const json& j, const Where& w, PortFacts* out);
Status Decode(const json& j, const Where& w, EngineDeviceFacts* out);
Status Decode(const json& j, const Where& w, RankSpec* out);
Status Decode(const json& j, const Where& w, ContainerSpec* out);
Status Decode(const json& j, const Where& w, PeerAgent* out);
Status Decode(const json& j, const Where& w, UnitStatus* out);
Status Decode(const json& j, const Where& w, GangFailure* out);
Status Decode(const json& j, const Where& w, LogLine* out);
Status Decode(const json& j, const Where& w, RestartPolicy* out);
Status Decode(const json& j, const Where& w, RestartState* out);

// A list: at most kMaxListItems items when limited; each item decoded at PATH[i].
template <typename T>
Status Decode(const json& j, const Where& w, std::vector<T>* out) {
  if (!j.is_array()) return w.Error("expected a list");
  if (w.limited && j.size() > kMaxListItems) {
    return w.Error("list of " + std::to_string(j.size()) + " items exceeds the " + std::to_string(kMaxListItems) +
                   "-item limit");
  }
  std::vector<T> items(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    CLUSTER_RETURN_IF_ERROR(Decode(j[i], w.Index(i), &items[i]));
  }
  *out = std::move(items);
  return Status::Ok();
}

// An optional value: JSON null is the same as absent.
template <typename T>
Status Decode(const json& j, const Where& w, std::optional<T>* out) {
  if (j.is_null()) {
    out->reset();
    return Status::Ok();
  }
  T value{};
  CLUSTER_RETURN_IF_ERROR(Decode(j, w, &value));
  *out = std::move(value);
  return Status::Ok();
}

// The fields of one JSON object. Fields it does not ask for are ignored, so a
// newer peer may add optional fields without breaking an older one.
class Object {
 public:
  // "PATH: expected an object" unless `j` is one. `j` must outlive the Object.
  static StatusOr<Object> Open(const json& j, Where w);

  // A field that must be present (and not null).
  template <typename T>
  Status Required(const char* key, T* out) const {
    const json* value = Find(key);
    if (value == nullptr) return where_.Field(key).Error("required field is missing");
    return Decode(*value, where_.Field(key), out);
  }
  // A field that may be absent (or null): `out` keeps its default then.
  template <typename T>
  Status Optional(const char* key, T* out) const {
    const json* value = Find(key);
    if (value == nullptr) return Status::Ok();
    return Decode(*value, where_.Field(key), out);
  }

 private:
  Object(const json& j, Where w) : json_(&j), where_(std::move(w)) {}
  const json* Find(const char* key) const;  // nullptr when absent or null

  const json* json_;
  Where where_;
};

// Encoders of the request bodies and nested structs; the replies' encoders
// are messages.h's ToJson.
json Encode(const HelloRequest& v);
json Encode(const FactsRequest& v);
json Encode(const ProbeRequest& v);
json Encode(const StartRequest& v);
json Encode(const StatusRequest& v);
json Encode(const LogsRequest& v);
json Encode(const StopRequest& v);
json Encode(const GangFailureRequest& v);
json Encode(const ShutdownRequest& v);
json Encode(const CommCheckRequest& v);
json Encode(const GangRestartRequest& v);
json Encode(const CommCheckRank& v);
json Encode(const GpuFacts& v);
json Encode(const InterfaceFacts& v);
json Encode(const PortFacts& v);
json Encode(const EngineDeviceFacts& v);
json Encode(const RankSpec& v);
json Encode(const ContainerSpec& v);
json Encode(const PeerAgent& v);
json Encode(const UnitStatus& v);
json Encode(const GangFailure& v);
json Encode(const LogLine& v);
json Encode(const RestartPolicy& v);
json Encode(const RestartState& v);

template <typename T>
json EncodeList(const std::vector<T>& items) {
  json list = json::array();
  for (const T& item : items) list.push_back(Encode(item));
  return list;
}

// Sets j[key] = *value when present; leaves the field out otherwise.
template <typename T>
void PutOptional(json& j, const char* key, const std::optional<T>& value) {
  if (value.has_value()) j[key] = *value;
}

}  // namespace cluster::control::codec
