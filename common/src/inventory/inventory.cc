#include "common/inventory/inventory.h"

namespace cluster::inventory {

const Host* Inventory::Head() const {
  for (const Host& h : hosts)
    if (h.head) return &h;
  return hosts.empty() ? nullptr : &hosts.front();
}

const Model* Inventory::FindModel(const std::string& name) const {
  for (const Model& m : models)
    if (m.name == name) return &m;
  return nullptr;
}

const Image* Inventory::FindImage(const std::string& name) const {
  for (const Image& i : images)
    if (i.name == name) return &i;
  return nullptr;
}

std::filesystem::path Inventory::ModelPathOn(const Host& host, const Model& model) const {
  auto it = host.model_paths.find(model.name);
  return it != host.model_paths.end() ? it->second : model.path;
}

const char* DtypeName(Dtype dtype) {
  switch (dtype) {
    case Dtype::kAuto: return "auto";
    case Dtype::kFloat16: return "float16";
    case Dtype::kBfloat16: return "bfloat16";
    case Dtype::kFloat32: return "float32";
  }
  return "?";
}

const char* RestartPolicyName(RestartPolicyKind policy) {
  switch (policy) {
    case RestartPolicyKind::kNever: return "never";
    case RestartPolicyKind::kOnFailure: return "on-failure";
    case RestartPolicyKind::kAlways: return "always";
  }
  return "?";
}

}  // namespace cluster::inventory
