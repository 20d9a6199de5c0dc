#include "engine/comm/gloo/gloo_store.h"

#include <gloo/common/error.h>

#include <algorithm>

namespace engine {

void GlooStore::Throw(const Status& status) {
  if (failure_.ok()) failure_ = status;
  throw gloo::IoException(status.message());
}

void GlooStore::set(const std::string& key, const std::vector<char>& data) {
  Status s = client_.Set(prefix_ + key, std::string_view(data.data(), data.size()));
  if (!s.ok()) Throw(s);
}

std::vector<char> GlooStore::get(const std::string& key) {
  auto value = client_.Get(prefix_ + key, timeout_);
  if (!value.ok()) Throw(value.status());
  return std::vector<char>(value->begin(), value->end());
}

void GlooStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void GlooStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  std::vector<std::string> prefixed;
  for (const std::string& key : keys) prefixed.push_back(prefix_ + key);
  const auto limit = timeout.count() > 0 ? std::min(timeout, timeout_) : timeout_;
  Status s = client_.Wait(prefixed, limit);
  if (!s.ok()) Throw(s);
}

}  // namespace engine
