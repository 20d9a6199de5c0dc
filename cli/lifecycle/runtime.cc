#include "cli/lifecycle/runtime.h"

#include <algorithm>

#include <fmt/format.h>

namespace cluster::cli {

void Runtimes::Add(std::string name, Make make) { makers_.emplace_back(std::move(name), make); }

StatusOr<std::unique_ptr<Runtime>> Runtimes::For(const inventory::Inventory& inventory) const {
  const std::string& name = inventory.runtime.kind;
  const auto found =
      std::find_if(makers_.begin(), makers_.end(), [&](const auto& maker) { return maker.first == name; });
  if (found != makers_.end()) return found->second(inventory);
  std::string known;
  for (const auto& [known_name, make] : makers_) known += (known.empty() ? "" : ", ") + known_name;
  return InvalidArgumentError(
      fmt::format("runtime.kind: clusterctl cannot start runtime {}; it knows {}", name, known));
}

}  // namespace cluster::cli
