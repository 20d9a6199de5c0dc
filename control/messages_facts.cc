// The codec of `facts`: the request and NodeFacts with its GPUs, interfaces
// and ports.
#include "control/json_codec.h"
#include "control/messages.h"

namespace cluster::control {
namespace codec {

// ---- request ------------------------------------------------------------------
json Encode(const FactsRequest& v) {
  return json{{"model_path", v.model_path}, {"hash_model", v.hash_model}, {"ports", v.ports},
              {"bind_address", v.bind_address}, {"image", v.image},       {"disk_path", v.disk_path},
              {"engine_device", v.engine_device}};
}

// Every field is optional: an empty facts request reports the host alone.
Status Decode(const json& j, const Where& w, FactsRequest* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Optional("model_path", &out->model_path));
  CLUSTER_RETURN_IF_ERROR(o.Optional("hash_model", &out->hash_model));
  CLUSTER_RETURN_IF_ERROR(o.Optional("ports", &out->ports));
  CLUSTER_RETURN_IF_ERROR(o.Optional("bind_address", &out->bind_address));
  CLUSTER_RETURN_IF_ERROR(o.Optional("image", &out->image));
  CLUSTER_RETURN_IF_ERROR(o.Optional("disk_path", &out->disk_path));
  return o.Optional("engine_device", &out->engine_device);
}

// ---- the engine's probe -----------------------------------------------------------
json Encode(const EngineDeviceFacts& v) {
  return json{{"ok", v.ok},
              {"device", v.device},
              {"name", v.name},
              {"compute_capability", v.compute_capability},
              {"driver_cuda", v.driver_cuda},
              {"runtime_cuda", v.runtime_cuda},
              {"error", v.error}};
}

Status Decode(const json& j, const Where& w, EngineDeviceFacts* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("ok", &out->ok));
  CLUSTER_RETURN_IF_ERROR(o.Required("device", &out->device));
  CLUSTER_RETURN_IF_ERROR(o.Required("name", &out->name));
  CLUSTER_RETURN_IF_ERROR(o.Required("compute_capability", &out->compute_capability));
  CLUSTER_RETURN_IF_ERROR(o.Required("driver_cuda", &out->driver_cuda));
  CLUSTER_RETURN_IF_ERROR(o.Required("runtime_cuda", &out->runtime_cuda));
  return o.Required("error", &out->error);
}

// ---- GPUs, interfaces, ports ----------------------------------------------------
json Encode(const GpuFacts& v) {
  return json{{"index", v.index},
              {"name", v.name},
              {"memory_total_bytes", v.memory_total_bytes},
              {"memory_used_bytes", v.memory_used_bytes},
              {"memory_free_bytes", v.memory_free_bytes},
              {"compute_capability", v.compute_capability},
              {"driver_version", v.driver_version},
              {"utilization_percent", v.utilization_percent}};
}

Status Decode(const json& j, const Where& w, GpuFacts* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("index", &out->index));
  CLUSTER_RETURN_IF_ERROR(o.Required("name", &out->name));
  CLUSTER_RETURN_IF_ERROR(o.Required("memory_total_bytes", &out->memory_total_bytes));
  CLUSTER_RETURN_IF_ERROR(o.Required("memory_used_bytes", &out->memory_used_bytes));
  CLUSTER_RETURN_IF_ERROR(o.Required("memory_free_bytes", &out->memory_free_bytes));
  CLUSTER_RETURN_IF_ERROR(o.Required("compute_capability", &out->compute_capability));
  CLUSTER_RETURN_IF_ERROR(o.Required("driver_version", &out->driver_version));
  return o.Required("utilization_percent", &out->utilization_percent);
}

json Encode(const InterfaceFacts& v) {
  json j{{"name", v.name},         {"up", v.up},   {"loopback", v.loopback},
         {"is_virtual", v.is_virtual}, {"mtu", v.mtu}, {"addresses", v.addresses}};
  PutOptional(j, "speed_mbps", v.speed_mbps);
  return j;
}

Status Decode(const json& j, const Where& w, InterfaceFacts* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("name", &out->name));
  CLUSTER_RETURN_IF_ERROR(o.Required("up", &out->up));
  CLUSTER_RETURN_IF_ERROR(o.Required("loopback", &out->loopback));
  CLUSTER_RETURN_IF_ERROR(o.Required("is_virtual", &out->is_virtual));
  CLUSTER_RETURN_IF_ERROR(o.Required("mtu", &out->mtu));
  CLUSTER_RETURN_IF_ERROR(o.Optional("speed_mbps", &out->speed_mbps));
  return o.Required("addresses", &out->addresses);
}

json Encode(const PortFacts& v) { return json{{"port", v.port}, {"free", v.free}, {"error", v.error}}; }

Status Decode(const json& j, const Where& w, PortFacts* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("port", &out->port));
  CLUSTER_RETURN_IF_ERROR(o.Required("free", &out->free));
  return o.Required("error", &out->error);
}

// ---- reply ----------------------------------------------------------------------
Status Decode(const json& j, const Where& w, NodeFacts* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("hostname", &out->hostname));
  CLUSTER_RETURN_IF_ERROR(o.Required("agent_version", &out->agent_version));
  CLUSTER_RETURN_IF_ERROR(o.Required("unix_time_ms", &out->unix_time_ms));
  CLUSTER_RETURN_IF_ERROR(o.Required("gpus", &out->gpus));
  CLUSTER_RETURN_IF_ERROR(o.Required("gpu_error", &out->gpu_error));
  CLUSTER_RETURN_IF_ERROR(o.Required("interfaces", &out->interfaces));
  CLUSTER_RETURN_IF_ERROR(o.Required("shm_bytes", &out->shm_bytes));
  CLUSTER_RETURN_IF_ERROR(o.Required("disk_path", &out->disk_path));
  CLUSTER_RETURN_IF_ERROR(o.Required("disk_free_bytes", &out->disk_free_bytes));
  CLUSTER_RETURN_IF_ERROR(o.Required("model_present", &out->model_present));
  CLUSTER_RETURN_IF_ERROR(o.Required("model_manifest_hash", &out->model_manifest_hash));
  CLUSTER_RETURN_IF_ERROR(o.Required("model_error", &out->model_error));
  CLUSTER_RETURN_IF_ERROR(o.Required("ports", &out->ports));
  CLUSTER_RETURN_IF_ERROR(o.Required("docker_present", &out->docker_present));
  CLUSTER_RETURN_IF_ERROR(o.Required("docker_version", &out->docker_version));
  CLUSTER_RETURN_IF_ERROR(o.Required("docker_error", &out->docker_error));
  CLUSTER_RETURN_IF_ERROR(o.Optional("image_present", &out->image_present));
  CLUSTER_RETURN_IF_ERROR(o.Optional("agent_boot_unit", &out->agent_boot_unit));
  return o.Optional("engine_device", &out->engine_device);
}

}  // namespace codec

nlohmann::json ToJson(const NodeFacts& v) {
  using codec::EncodeList;
  codec::json j{{"hostname", v.hostname},
                {"agent_version", v.agent_version},
                {"unix_time_ms", v.unix_time_ms},
                {"gpus", EncodeList(v.gpus)},
                {"gpu_error", v.gpu_error},
                {"interfaces", EncodeList(v.interfaces)},
                {"shm_bytes", v.shm_bytes},
                {"disk_path", v.disk_path},
                {"disk_free_bytes", v.disk_free_bytes},
                {"model_present", v.model_present},
                {"model_manifest_hash", v.model_manifest_hash},
                {"model_error", v.model_error},
                {"ports", EncodeList(v.ports)},
                {"docker_present", v.docker_present},
                {"docker_version", v.docker_version},
                {"docker_error", v.docker_error}};
  codec::PutOptional(j, "image_present", v.image_present);
  if (!v.agent_boot_unit.empty()) j["agent_boot_unit"] = v.agent_boot_unit;
  if (v.engine_device) j["engine_device"] = codec::Encode(*v.engine_device);
  return j;
}

}  // namespace cluster::control
