// RuntimeDefinitions, the defaults of RuntimeDefinition, and what
// inventory.h's Runtime asks of its definition (runtime_definition.h).
#include "common/inventory/runtime_definition.h"

#include <algorithm>

namespace cluster::inventory {

RuntimeBlocks::RuntimeBlocks(const RuntimeBlocks& other) { *this = other; }

RuntimeBlocks& RuntimeBlocks::operator=(const RuntimeBlocks& other) {
  if (this == &other) return *this;
  blocks_.clear();
  for (const auto& [block, options] : other.blocks_) blocks_.emplace(block, options->Clone());
  return *this;
}

const RuntimeOptions* RuntimeBlocks::Find(std::string_view block) const {
  const auto found = blocks_.find(block);
  return found == blocks_.end() ? nullptr : found->second.get();
}

RuntimeOptions* RuntimeBlocks::Find(std::string_view block) {
  const auto found = blocks_.find(block);
  return found == blocks_.end() ? nullptr : found->second.get();
}

void RuntimeBlocks::Set(std::string block, std::unique_ptr<RuntimeOptions> options) {
  blocks_[std::move(block)] = std::move(options);
}

const RuntimeDefinition& Runtime::Definition() const {
  if (definition && definition->name() == kind) return *definition;
  if (auto builtin = BuiltinRuntimeDefinitions().Find(kind)) return *builtin;
  return *BuiltinRuntimeDefinitions().all().front();  // REQUIRES broken: an unknown kind made in code
}

bool Runtime::RanksOnCpu() const { return Definition().RanksOnCpu(*this); }

void RuntimeDefinition::CheckBlock(const Inventory&, LoadContext*) const {}
void RuntimeDefinition::CheckPorts(const Inventory&, LoadContext*) const {}
void RuntimeDefinition::CheckCanRun(const Inventory&, LoadContext*) const {}
bool RuntimeDefinition::RanksOnCpu(const Runtime&) const { return false; }
std::string_view RuntimeDefinition::device_key() const { return {}; }
void RuntimeDefinition::CheckModelFacts(const Runtime&, const ModelFacts&, std::vector<Diagnostic>*) const {}

void RuntimeDefinitions::Add(std::shared_ptr<const RuntimeDefinition> definition) {
  all_.push_back(std::move(definition));
}

std::shared_ptr<const RuntimeDefinition> RuntimeDefinitions::Find(std::string_view name) const {
  const auto found = std::find_if(all_.begin(), all_.end(), [&](const auto& d) { return d->name() == name; });
  return found == all_.end() ? nullptr : *found;
}

}  // namespace cluster::inventory
