// Fuzzes the inventory loader (common/inventory/loader.h): any text is an
// inventory or a list of diagnostics, never a crash or an exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/inventory/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  cluster::inventory::LoadOptions options;
  options.require_artifacts = false;  // artifacts would be looked up on this machine
  const auto result = cluster::inventory::LoadInventoryFromString(text, "/fuzz/cluster.yaml", options);
  for (const auto& d : result.diagnostics) (void)d.ToString();
  if (!result.ok() && result.error_count() == 0) __builtin_trap();  // refused without saying why
  return 0;
}
