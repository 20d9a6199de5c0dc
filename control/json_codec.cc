// The scalar, enum and object building blocks of the strict JSON codec.
#include "control/json_codec.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/env_allow_list.h"
#include "common/untrusted_text.h"

namespace cluster::control::codec {
namespace {

// Decodes a string that must be one of `names` (indexed by the enum's value).
template <typename Enum, std::size_t N>
Status DecodeEnum(const json& j, const Where& w, const char* const (&names)[N], Enum* out) {
  std::string text;
  CLUSTER_RETURN_IF_ERROR(Decode(j, w, &text));
  std::string choices;
  for (std::size_t i = 0; i < N; ++i) {
    if (text == names[i]) {
      *out = static_cast<Enum>(i);
      return Status::Ok();
    }
    choices += (i == 0 ? "" : ", ") + std::string(names[i]);
  }
  return w.Error("expected one of " + choices + "; got '" + Excerpt(text) + "'");
}

constexpr const char* kUnitStateNames[] = {"starting", "running", "exited", "failed", "stopped"};
constexpr const char* kRestartPolicyNames[] = {"never", "on-failure", "always"};

}  // namespace

Where Where::Field(std::string_view key) const { return Where{path + "." + std::string(key), limited}; }

Where Where::Index(std::size_t i) const { return Where{path + "[" + std::to_string(i) + "]", limited}; }

Status Where::Error(std::string_view what) const { return InvalidArgumentError(path + ": " + std::string(what)); }

Status Decode(const json& j, const Where& w, std::string* out) {
  if (!j.is_string()) return w.Error("expected a string");
  const auto& text = j.get_ref<const std::string&>();
  if (w.limited && text.size() > kMaxStringBytes) {
    return w.Error("string of " + std::to_string(text.size()) + " bytes exceeds the " +
                   std::to_string(kMaxStringBytes) + "-byte limit");
  }
  *out = text;
  return Status::Ok();
}

Status Decode(const json& j, const Where& w, bool* out) {
  if (!j.is_boolean()) return w.Error("expected a boolean");
  *out = j.get<bool>();
  return Status::Ok();
}

Status Decode(const json& j, const Where& w, std::int64_t* out) {
  if (!j.is_number_integer()) return w.Error("expected an integer");
  if (j.is_number_unsigned() && j.get<std::uint64_t>() > std::uint64_t{std::numeric_limits<std::int64_t>::max()}) {
    return w.Error("integer out of the signed 64-bit range");
  }
  *out = j.get<std::int64_t>();
  return Status::Ok();
}

Status Decode(const json& j, const Where& w, int* out) {
  std::int64_t wide = 0;
  if (!j.is_number_integer()) return w.Error("expected an integer");
  if (Decode(j, w, &wide).ok() && wide >= std::numeric_limits<int>::min() && wide <= std::numeric_limits<int>::max()) {
    *out = static_cast<int>(wide);
    return Status::Ok();
  }
  return w.Error("expected an integer from " + std::to_string(std::numeric_limits<int>::min()) + " to " +
                 std::to_string(std::numeric_limits<int>::max()));
}

Status Decode(const json& j, const Where& w, double* out) {
  if (!j.is_number()) return w.Error("expected a number");
  const double value = j.get<double>();
  if (!std::isfinite(value)) return w.Error("expected a finite number");
  *out = value;
  return Status::Ok();
}

Status Decode(const json& j, const Where& w, std::uint64_t* out) {
  if (j.is_number_unsigned()) {
    *out = j.get<std::uint64_t>();
    return Status::Ok();
  }
  if (j.is_number_integer() && j.get<std::int64_t>() >= 0) {
    *out = static_cast<std::uint64_t>(j.get<std::int64_t>());
    return Status::Ok();
  }
  return w.Error("expected a non-negative integer");
}

Status Decode(const json& j, const Where& w, std::map<std::string, std::string>* out) {
  if (!j.is_object()) return w.Error("expected an object of NAME: value");
  if (w.limited && j.size() > kMaxEnvEntries) {
    return w.Error(std::to_string(j.size()) + " entries exceed the " + std::to_string(kMaxEnvEntries) +
                   "-entry limit");
  }
  std::map<std::string, std::string> env;
  for (const auto& [key, value] : j.items()) {
    if (Status allowed = CheckAllowedEnvName(key); !allowed.ok()) return w.Error(allowed.message());
    CLUSTER_RETURN_IF_ERROR(Decode(value, w.Field(key), &env[key]));
  }
  *out = std::move(env);
  return Status::Ok();
}

Status CheckDeploymentId(const std::string& id, const Where& w) {
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  bool ok = !id.empty() && id.size() <= 64 && alnum(id.front());
  for (char c : id) ok = ok && (alnum(c) || c == '.' || c == '_' || c == '-');
  if (ok) return Status::Ok();
  return w.Error("'" + Excerpt(id) +
                 "' is not a deployment id: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
}

Status Decode(const json& j, const Where& w, UnitState* out) { return DecodeEnum(j, w, kUnitStateNames, out); }

Status Decode(const json& j, const Where& w, RestartPolicyKind* out) {
  return DecodeEnum(j, w, kRestartPolicyNames, out);
}

StatusOr<Object> Object::Open(const json& j, Where w) {
  if (!j.is_object()) return w.Error("expected an object");
  return Object(j, std::move(w));
}

const json* Object::Find(const char* key) const {
  auto it = json_->find(key);
  if (it == json_->end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace cluster::control::codec

namespace cluster::control {

const char* UnitStateName(UnitState state) { return codec::kUnitStateNames[static_cast<int>(state)]; }

bool IsRuntimeName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

const char* RestartPolicyName(RestartPolicyKind kind) {
  return codec::kRestartPolicyNames[static_cast<int>(kind)];
}

}  // namespace cluster::control
