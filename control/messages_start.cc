// The codec of `start`: engine ranks, the vllm-docker container and the peer
// agents a deployment's failures are reported to.
#include "control/json_codec.h"
#include "control/messages.h"

#include "common/untrusted_text.h"

namespace cluster::control::codec {

// ---- engine rank --------------------------------------------------------------
json Encode(const RankSpec& v) {
  json j{{"rank", v.rank},
         {"world_size", v.world_size},
         {"tensor_parallel", v.tensor_parallel},
         {"pipeline_parallel", v.pipeline_parallel},
         {"stage", v.stage},
         {"tp_rank", v.tp_rank},
         {"device", v.device},
         {"dtype", v.dtype},
         {"model_path", v.model_path},
         {"served_model_name", v.served_model_name},
         {"rendezvous", v.rendezvous},
         {"rendezvous_peers", v.rendezvous_peers},
         {"local_address", v.local_address},
         {"serve_address", v.serve_address},
         {"serve_port", v.serve_port},
         {"api_key", v.api_key},
         {"batch_invariant", v.batch_invariant},
         {"env", v.env}};
  PutOptional(j, "gpu", v.gpu);
  PutOptional(j, "max_context", v.max_context);
  PutOptional(j, "gpu_memory_fraction", v.gpu_memory_fraction);
  return j;
}

// Required: where the rank sits and what it loads. Optional: what only rank 0
// or a GPU rank has (serve_*, api_key, gpu), the parallel layout (1 x 1 by
// default) and tuning (batch_invariant false when absent, as a clusterctl
// older than it sends).
Status Decode(const json& j, const Where& w, RankSpec* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("rank", &out->rank));
  CLUSTER_RETURN_IF_ERROR(o.Required("world_size", &out->world_size));
  CLUSTER_RETURN_IF_ERROR(o.Optional("tensor_parallel", &out->tensor_parallel));
  CLUSTER_RETURN_IF_ERROR(o.Optional("pipeline_parallel", &out->pipeline_parallel));
  CLUSTER_RETURN_IF_ERROR(o.Required("stage", &out->stage));
  CLUSTER_RETURN_IF_ERROR(o.Required("tp_rank", &out->tp_rank));
  CLUSTER_RETURN_IF_ERROR(o.Optional("gpu", &out->gpu));
  CLUSTER_RETURN_IF_ERROR(o.Required("device", &out->device));
  CLUSTER_RETURN_IF_ERROR(o.Required("dtype", &out->dtype));
  CLUSTER_RETURN_IF_ERROR(o.Required("model_path", &out->model_path));
  CLUSTER_RETURN_IF_ERROR(o.Optional("served_model_name", &out->served_model_name));
  CLUSTER_RETURN_IF_ERROR(o.Required("rendezvous", &out->rendezvous));
  CLUSTER_RETURN_IF_ERROR(o.Optional("rendezvous_peers", &out->rendezvous_peers));
  CLUSTER_RETURN_IF_ERROR(o.Optional("local_address", &out->local_address));
  CLUSTER_RETURN_IF_ERROR(o.Optional("serve_address", &out->serve_address));
  CLUSTER_RETURN_IF_ERROR(o.Optional("serve_port", &out->serve_port));
  CLUSTER_RETURN_IF_ERROR(o.Optional("api_key", &out->api_key));
  CLUSTER_RETURN_IF_ERROR(o.Optional("max_context", &out->max_context));
  CLUSTER_RETURN_IF_ERROR(o.Optional("gpu_memory_fraction", &out->gpu_memory_fraction));
  CLUSTER_RETURN_IF_ERROR(o.Optional("batch_invariant", &out->batch_invariant));
  return o.Optional("env", &out->env);
}

// ---- vllm-docker container ------------------------------------------------------
json Encode(const ContainerSpec& v) {
  return json{{"name", v.name},
              {"image", v.image},
              {"shm_size", v.shm_size},
              {"model_path", v.model_path},
              {"env", v.env},
              {"gpus", v.gpus},
              {"gpu_devices", v.gpu_devices},
              {"volumes", v.volumes},
              {"devices", v.devices},
              {"ulimits", v.ulimits},
              {"ipc_host", v.ipc_host},
              {"head", v.head},
              {"node_address", v.node_address},
              {"head_address", v.head_address},
              {"ray_port", v.ray_port},
              {"expected_gpus", v.expected_gpus},
              {"served_model_name", v.served_model_name},
              {"tensor_parallel", v.tensor_parallel},
              {"pipeline_parallel", v.pipeline_parallel},
              {"dtype", v.dtype},
              {"serve_port", v.serve_port},
              {"serve_address", v.serve_address},
              {"vllm_args", v.vllm_args},
              {"api_key", v.api_key}};
}

// Required: what names and places the container. Optional: everything with
// a default in messages.h.
Status Decode(const json& j, const Where& w, ContainerSpec* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("name", &out->name));
  CLUSTER_RETURN_IF_ERROR(o.Required("image", &out->image));
  CLUSTER_RETURN_IF_ERROR(o.Optional("shm_size", &out->shm_size));
  CLUSTER_RETURN_IF_ERROR(o.Required("model_path", &out->model_path));
  CLUSTER_RETURN_IF_ERROR(o.Optional("env", &out->env));
  CLUSTER_RETURN_IF_ERROR(o.Optional("gpus", &out->gpus));
  CLUSTER_RETURN_IF_ERROR(o.Optional("gpu_devices", &out->gpu_devices));
  CLUSTER_RETURN_IF_ERROR(o.Optional("volumes", &out->volumes));
  CLUSTER_RETURN_IF_ERROR(o.Optional("devices", &out->devices));
  CLUSTER_RETURN_IF_ERROR(o.Optional("ulimits", &out->ulimits));
  CLUSTER_RETURN_IF_ERROR(o.Optional("ipc_host", &out->ipc_host));
  CLUSTER_RETURN_IF_ERROR(o.Required("head", &out->head));
  CLUSTER_RETURN_IF_ERROR(o.Required("node_address", &out->node_address));
  CLUSTER_RETURN_IF_ERROR(o.Required("head_address", &out->head_address));
  CLUSTER_RETURN_IF_ERROR(o.Optional("ray_port", &out->ray_port));
  CLUSTER_RETURN_IF_ERROR(o.Optional("expected_gpus", &out->expected_gpus));
  CLUSTER_RETURN_IF_ERROR(o.Optional("served_model_name", &out->served_model_name));
  CLUSTER_RETURN_IF_ERROR(o.Optional("tensor_parallel", &out->tensor_parallel));
  CLUSTER_RETURN_IF_ERROR(o.Optional("pipeline_parallel", &out->pipeline_parallel));
  CLUSTER_RETURN_IF_ERROR(o.Optional("dtype", &out->dtype));
  CLUSTER_RETURN_IF_ERROR(o.Optional("serve_port", &out->serve_port));
  CLUSTER_RETURN_IF_ERROR(o.Optional("serve_address", &out->serve_address));
  CLUSTER_RETURN_IF_ERROR(o.Optional("vllm_args", &out->vllm_args));
  return o.Optional("api_key", &out->api_key);
}

// ---- peers and the request --------------------------------------------------------
json Encode(const PeerAgent& v) { return json{{"host", v.host}, {"address", v.address}, {"port", v.port}}; }

Status Decode(const json& j, const Where& w, PeerAgent* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("host", &out->host));
  CLUSTER_RETURN_IF_ERROR(o.Required("address", &out->address));
  return o.Optional("port", &out->port);
}

json Encode(const StartRequest& v) {
  json j{{"deployment", v.deployment},
         {"runtime", v.runtime},
         {"ranks", EncodeList(v.ranks)},
         {"peers", EncodeList(v.peers)},
         {"restart", Encode(v.restart)}};
  if (v.container.has_value()) j["container"] = Encode(*v.container);
  return j;
}

Status Decode(const json& j, const Where& w, StartRequest* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("deployment", &out->deployment));
  CLUSTER_RETURN_IF_ERROR(CheckDeploymentId(out->deployment, w.Field("deployment")));
  CLUSTER_RETURN_IF_ERROR(o.Required("runtime", &out->runtime));
  if (!IsRuntimeName(out->runtime)) {
    return w.Field("runtime").Error("expected a runtime name such as engine (lowercase letters, digits and '-'); got '" +
                                    Excerpt(out->runtime) + "'");
  }
  CLUSTER_RETURN_IF_ERROR(o.Optional("ranks", &out->ranks));
  CLUSTER_RETURN_IF_ERROR(o.Optional("container", &out->container));
  CLUSTER_RETURN_IF_ERROR(o.Optional("restart", &out->restart));
  return o.Optional("peers", &out->peers);
}

}  // namespace cluster::control::codec
