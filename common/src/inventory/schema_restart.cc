// runtime.restart: `never`, `on-failure` or `always`, or a mapping that adds
// the limit and the backoff:
//
//   restart: {policy: on-failure, max: 5, window: 10m, backoff: 10s}
//
// Durations are whole seconds, minutes or hours (value_syntax.h). The
// bounds keep a restarting gang from hammering its hosts: at most 100
// restarts in a window of at most 24 h, a backoff of 1 s to 1 h.
#include <fmt/format.h>

#include "schema.h"
#include "value_syntax.h"

namespace cluster::inventory {
namespace {

constexpr std::int64_t kMaxWindowS = 24 * 3600;
constexpr std::int64_t kMaxBackoffS = 3600;

std::optional<RestartPolicyKind> ReadPolicyWord(const Field& field, LoadContext* ctx) {
  auto i = ReadWord(field, ctx, {"never", "on-failure", "always"},
                    {{"no", "never"}, {"on_failure", "on-failure"}, {"onfailure", "on-failure"},
                     {"unless-stopped", "always"}});
  if (!i) return std::nullopt;
  static constexpr RestartPolicyKind kKinds[] = {RestartPolicyKind::kNever, RestartPolicyKind::kOnFailure,
                                                 RestartPolicyKind::kAlways};
  return kKinds[*i];
}

// A duration from 1 s to `max_s`, as a whole number of seconds.
std::optional<int> ReadDuration(const Field& field, LoadContext* ctx, std::int64_t max_s) {
  const std::string expected = fmt::format("a duration from 1s to {}h such as 30s or 10m", max_s / 3600);
  std::optional<std::string> text;
  if (field.value.IsScalar()) text = field.value.Scalar();
  if (!text || text->empty()) {
    ReportMismatch(field, ctx, expected);
    return std::nullopt;
  }
  auto seconds = ParseDurationSeconds(*text);
  if (!seconds.ok()) {
    ReportMismatch(field, ctx, expected, seconds.status().message());
    return std::nullopt;
  }
  if (*seconds > max_s) {
    ReportMismatch(field, ctx, expected);
    return std::nullopt;
  }
  return static_cast<int>(*seconds);
}

}  // namespace

void ReadRestartPolicy(const Field& field, RestartPolicy* restart, LoadContext* ctx) {
  if (!field.value.IsMap()) {
    if (field.value.IsScalar()) {
      if (auto policy = ReadPolicyWord(field, ctx)) restart->policy = *policy;
    } else {
      ReportMismatch(field, ctx, "never, on-failure, always or a mapping with policy, max, window and backoff");
    }
    return;
  }
  auto block = ReadMapping(field, ctx, {"policy", "max", "window", "backoff"},
                           "a mapping with policy, max, window and backoff");
  if (!block) return;
  bool never = false;  // as written, not by default
  if (auto f = block->Require("policy", "add policy: on-failure (or never, always)")) {
    if (auto policy = ReadPolicyWord(*f, ctx)) {
      restart->policy = *policy;
      never = *policy == RestartPolicyKind::kNever;
    }
  }
  if (auto f = block->Get("max")) {
    if (auto n = ReadInteger(*f, ctx, 1, 100, "a number of restarts from 1 to 100")) {
      restart->max_restarts = static_cast<int>(*n);
    }
  }
  if (auto f = block->Get("window")) {
    if (auto s = ReadDuration(*f, ctx, kMaxWindowS)) restart->window_s = *s;
  }
  if (auto f = block->Get("backoff")) {
    if (auto s = ReadDuration(*f, ctx, kMaxBackoffS)) restart->backoff_s = *s;
  }
  if (never) {
    for (std::string_view key : {"max", "window", "backoff"}) {
      if (auto f = block->Get(key)) {
        ctx->Warning(f->key_at, f->path, "has no effect with policy never",
                     "set policy: on-failure or always, or remove it");
      }
    }
  }
}

}  // namespace cluster::inventory
