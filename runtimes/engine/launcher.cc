#include "runtimes/engine/launcher.h"

#include <fmt/format.h>

#include "agent/engine_rank.h"

namespace cluster::agent {
namespace {

class EngineLauncher final : public Launcher {
 public:
  // All of the host's ranks start, or none stays running.
  void Start(const control::StartRequest& request, LaunchSite& site, Done done) override {
    control::StartReply reply;
    if (request.ranks.empty()) return done(reply);
    auto engine = FindEngineBinary(site.Self());
    if (!engine.ok()) return done(engine.status());
    for (const control::RankSpec& rank : request.ranks) {
      Status s = ValidateRankSpec(rank);
      std::filesystem::path key;
      if (s.ok() && rank.api_key) {
        key = site.ApiKeyFile();
        s = site.ApiKey().status();
      }
      if (s.ok()) s = site.StartUnit(EngineRankUnit(rank, *engine, site.LogFolder(), key));
      if (!s.ok()) {
        site.StopUnits("start failed");
        return done(Status(s.code(), fmt::format("rank {}: {}", rank.rank, s.message())));
      }
      reply.started.push_back(fmt::format("rank {}", rank.rank));
    }
    done(reply);
  }
};

}  // namespace

std::unique_ptr<Launcher> NewEngineLauncher() { return std::make_unique<EngineLauncher>(); }

}  // namespace cluster::agent
