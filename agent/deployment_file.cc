#include "agent/deployment_file.h"

#include <nlohmann/json.hpp>

#include "common/files.h"

namespace cluster::agent {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// The file holds at most one start request (bounded by the protocol's frame)
// and the times of a window's restarts (at most 100).
constexpr std::size_t kMaxFileBytes = 4u << 20;

fs::path PathIn(const fs::path& dir) { return dir / "deployment.json"; }

}  // namespace

Status SaveDeploymentFile(const fs::path& dir, const DeploymentFile& file) {
  // The request and the failure travel in the protocol's own codec: a start
  // request as a request envelope, the failure inside a RestartState.
  control::RestartState state;
  state.policy = file.request.restart;
  state.restarts = file.generation;
  state.last_failure = file.last_failure;
  Json j{{"request", control::EncodeRequest(control::Request(file.request))},
         {"state", control::ToJson(state)},
         {"restarts_unix_ms", file.restarts_unix_ms}};
  return WriteFileAtomically(PathIn(dir), j.dump() + "\n", 0600);
}

StatusOr<std::optional<DeploymentFile>> LoadDeploymentFile(const fs::path& dir) {
  auto text = ReadFile(PathIn(dir), kMaxFileBytes);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return std::optional<DeploymentFile>();
    return text.status();
  }
  auto damaged = [&](const std::string& why) {
    return DataLossError(PathIn(dir).string() + " is damaged (" + why + "); the deployment it recorded is not resumed");
  };
  Json j = Json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("request") || !j.contains("state") || !j.contains("restarts_unix_ms"))
    return damaged("not the expected JSON object");
  auto request = control::DecodeRequest(j["request"]);
  if (!request.ok()) return damaged(request.status().message());
  const auto* start = std::get_if<control::StartRequest>(&*request);
  if (start == nullptr) return damaged("its request is not a start request");
  auto state = control::RestartStateFromJson(j["state"]);
  if (!state.ok()) return damaged(state.status().message());
  DeploymentFile file;
  file.request = *start;
  file.generation = state->restarts;
  file.last_failure = state->last_failure;
  for (const Json& t : j["restarts_unix_ms"]) {
    if (!t.is_number_integer()) return damaged("a restart time is not a whole number");
    file.restarts_unix_ms.push_back(t.get<std::int64_t>());
  }
  return std::optional<DeploymentFile>(std::move(file));
}

void RemoveDeploymentFile(const fs::path& dir) {
  std::error_code ec;
  fs::remove(PathIn(dir), ec);
}

}  // namespace cluster::agent
