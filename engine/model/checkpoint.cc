#include "engine/model/checkpoint.h"

#include <system_error>

#include "common/files.h"
#include "engine/model/model_json.h"

namespace engine {

StatusOr<Checkpoint> Checkpoint::Open(const std::filesystem::path& model_dir) {
  namespace fs = std::filesystem;
  Checkpoint c;
  c.dir_ = model_dir;
  std::error_code ec;
  const fs::path index_path = model_dir / "model.safetensors.index.json";
  const fs::path single_path = model_dir / "model.safetensors";
  if (fs::exists(index_path, ec)) {
    const std::string label = index_path.string();
    c.missing_label_ = label;
    CLUSTER_ASSIGN_OR_RETURN(std::string text, cluster::ReadFile(index_path));
    CLUSTER_ASSIGN_OR_RETURN(model_json::Json index, model_json::Parse(text, label));
    auto map = index.is_object() ? index.find("weight_map") : index.end();
    if (!index.is_object() || map == index.end() || !map->is_object()) {
      return cluster::InvalidArgumentError(label + ": missing object weight_map");
    }
    std::map<std::string, std::shared_ptr<SafetensorsFile>> by_name;
    for (const auto& [tensor, shard] : map->items()) {
      if (!shard.is_string()) {
        return cluster::InvalidArgumentError(label + ": weight_map entry " + tensor + ": expected a file name, found " +
                                             model_json::Describe(shard));
      }
      const std::string shard_name = shard.get<std::string>();
      if (shard_name.empty() || shard_name.find('/') != std::string::npos || shard_name == "..") {
        return cluster::InvalidArgumentError(label + ": weight_map entry " + tensor + ": \"" + shard_name +
                                             "\" is not a file name in the model folder");
      }
      auto& file = by_name[shard_name];
      if (!file) {
        auto opened = SafetensorsFile::Open(model_dir / shard_name);
        if (!opened.ok()) return opened.status().WithContext(label + " lists " + shard_name);
        file = std::move(*opened);
        c.files_.push_back(file);
      }
      const SafetensorsTensor* t = file->Find(tensor);
      if (t == nullptr) {
        return cluster::DataLossError(file->path() + ": tensor " + tensor + ": not found, but " + label +
                                      " lists it in this file");
      }
      c.location_[tensor] = Location{file.get(), t};
    }
  } else if (fs::exists(single_path, ec)) {
    CLUSTER_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file, SafetensorsFile::Open(single_path));
    c.missing_label_ = file->path();
    std::shared_ptr<SafetensorsFile> shared = std::move(file);
    for (const auto& [name, t] : shared->tensors()) c.location_[name] = Location{shared.get(), &t};
    c.files_.push_back(std::move(shared));
  } else {
    return cluster::NotFoundError(model_dir.string() +
                                  ": no model.safetensors or model.safetensors.index.json in the model folder");
  }
  return c;
}

bool Checkpoint::Has(const std::string& name) const { return location_.count(name) != 0; }

StatusOr<Checkpoint::Location> Checkpoint::Find(const std::string& name, const Shape& expected) const {
  auto it = location_.find(name);
  if (it == location_.end()) {
    return cluster::NotFoundError(missing_label_ + ": tensor " + name + ": not found");
  }
  const Location& loc = it->second;
  if (loc.tensor->shape != expected) {
    return cluster::InvalidArgumentError(loc.file->path() + ": tensor " + name + ": expected shape " +
                                         ShapeToString(expected) + ", found " + ShapeToString(loc.tensor->shape));
  }
  return loc;
}

StatusOr<HostMatrix> Checkpoint::WholeView(const std::string& name, const Shape& expected) const {
  CLUSTER_ASSIGN_OR_RETURN(Location loc, Find(name, expected));
  return loc.file->RowsView(*loc.tensor, 0, expected.empty() ? 1 : expected[0]);
}

StatusOr<HostMatrix> Checkpoint::RowsView(const std::string& name, const Shape& expected, std::int64_t begin,
                                          std::int64_t end) const {
  CLUSTER_ASSIGN_OR_RETURN(Location loc, Find(name, expected));
  return loc.file->RowsView(*loc.tensor, begin, end);
}

StatusOr<HostMatrix> Checkpoint::ColumnsView(const std::string& name, const Shape& expected, std::int64_t begin,
                                             std::int64_t end) const {
  CLUSTER_ASSIGN_OR_RETURN(Location loc, Find(name, expected));
  return loc.file->ColumnsView(*loc.tensor, begin, end);
}

StatusOr<std::vector<float>> Checkpoint::Read(const std::string& name, const Shape& expected) const {
  CLUSTER_ASSIGN_OR_RETURN(Location loc, Find(name, expected));
  return loc.file->ReadRows(*loc.tensor, 0, expected.empty() ? 1 : expected[0]);
}

StatusOr<std::vector<float>> Checkpoint::ReadRows(const std::string& name, const Shape& expected, std::int64_t begin,
                                                  std::int64_t end) const {
  CLUSTER_ASSIGN_OR_RETURN(Location loc, Find(name, expected));
  return loc.file->ReadRows(*loc.tensor, begin, end);
}

StatusOr<std::vector<float>> Checkpoint::ReadColumns(const std::string& name, const Shape& expected,
                                                     std::int64_t begin, std::int64_t end) const {
  CLUSTER_ASSIGN_OR_RETURN(Location loc, Find(name, expected));
  return loc.file->ReadColumns(*loc.tensor, begin, end);
}

}  // namespace engine
