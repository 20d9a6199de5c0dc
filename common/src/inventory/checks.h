// Rules that relate several keys of an inventory, run after the schema
// readers (schema.h). Each check skips values whose reading failed
// (ctx->Failed), so that one mistake gives one message. Positions come from
// ctx->locations().
//
// Internal to the inventory loader.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/inventory/inventory.h"
#include "load_context.h"

namespace cluster::inventory {

// True when the names of the list at `list_path` ("artifacts.models") are in
// doubt: the list or one of its names failed to read, so "no such name"
// would be a guess.
bool NamesInDoubt(std::string_view list_path, std::size_t count, const LoadContext& ctx);

// Unique host names and addresses, at most one head, addresses inside
// network.subnet, model_paths naming models, ssh settings of local hosts,
// identity files that exist. (checks_hosts.cc)
void CheckHosts(const Inventory& inventory, LoadContext* ctx);

// runtime.model names an artifact; the runtime's own checks
// (runtime_definition.h) and a warning for each block of another runtime;
// tensor_parallel x pipeline_parallel fits the hosts and their GPUs; ports.
// (checks_runtime.cc)
void CheckRuntime(const Inventory& inventory, LoadContext* ctx);

// Reports that `name` at `key` is not in the list at `list_path` (whose
// names are `names`): "no image named "x" in artifacts.images", with the
// nearest name, or the list, as the hint. `what` is "model", "image".
void ReportUnknownName(std::string_view key, const std::string& name, std::string_view list_path,
                       const std::vector<std::string_view>& names, std::string_view what, LoadContext* ctx);

// Unique image and model names; image tarballs, model folders and the API key
// file exist on this machine: errors, or warnings when
// ctx->options().require_artifacts is false. (checks_artifacts.cc)
void CheckArtifacts(const Inventory& inventory, LoadContext* ctx);

}  // namespace cluster::inventory
