// Reading the inventory's YAML tree into an Inventory, key by key, against
// the schema that docs/inventory.md documents.
//
// Internal to the inventory loader. The readers report wrong types, unknown
// and missing keys and bad value syntax to the LoadContext, fill defaults and
// resolve local paths. A value that fails keeps its default and
// ctx->Failed(path) is true for it. Rules that relate several keys (unique
// names, references, parallelism) are the checks' (checks.h).
#pragma once

#include "common/inventory/inventory.h"
#include "load_context.h"
#include "yaml_fields.h"

namespace cluster::inventory {

// The whole document. REQUIRES: `root` parsed without syntax errors.
Inventory ReadInventory(const Field& root, LoadContext* ctx);

// The larger sections, each in its own file; schema.cc reads the top level,
// cluster, ssh and network. `root` is the top-level mapping.
void ReadHosts(const Mapping& root, Inventory* inventory, LoadContext* ctx);      // schema_hosts.cc
void ReadArtifacts(const Mapping& root, Inventory* inventory, LoadContext* ctx);  // schema_artifacts.cc
void ReadRuntime(const Mapping& root, Inventory* inventory, LoadContext* ctx);    // schema_runtime.cc
// runtime.restart: a policy word, or a mapping of policy, max, window, backoff.
void ReadRestartPolicy(const Field& field, RestartPolicy* restart, LoadContext* ctx);  // schema_restart.cc

// An `ssh` block (top-level or per host). Unset keys stay unset.
SshSettings ReadSshSettings(const Field& field, LoadContext* ctx);

// The keys a host's `ssh` block gives override those of `defaults`.
SshSettings MergeSshSettings(const SshSettings& defaults, const SshSettings& host);

}  // namespace cluster::inventory
