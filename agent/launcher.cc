#include "agent/launcher.h"

#include <algorithm>

#include "common/untrusted_text.h"

namespace cluster::agent {

void Launchers::Add(std::string runtime, std::unique_ptr<Launcher> launcher) {
  launchers_.emplace_back(std::move(runtime), std::move(launcher));
}

StatusOr<Launcher*> Launchers::For(const std::string& runtime) const {
  const auto found = std::find_if(launchers_.begin(), launchers_.end(),
                                  [&](const auto& entry) { return entry.first == runtime; });
  if (found != launchers_.end()) return found->second.get();
  std::string known;
  for (const auto& [name, launcher] : launchers_) known += (known.empty() ? "" : ", ") + name;
  return InvalidArgumentError("start.runtime: expected one of " + known + "; got '" + Excerpt(runtime) + "'");
}

}  // namespace cluster::agent
