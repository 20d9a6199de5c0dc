// GlooStore: Gloo's rendezvous Store interface over our rendezvous (Debian's
// libgloo has file, hash and Redis stores, no TCP one).
//
// Gloo's stores report failure by throwing; this one throws
// gloo::IoException and keeps the Status behind it, so the caller of
// connectFullMesh can report our message rather than the exception's.
// Every key is put under `prefix`, so that groups do not see each other's
// keys. get waits for its key (as Gloo expects) up to `timeout`; wait uses
// the smaller of Gloo's timeout and `timeout`.
#pragma once

#include <gloo/rendezvous/store.h>

#include <chrono>
#include <string>
#include <vector>

#include "engine/comm/rendezvous/rendezvous_client.h"

namespace engine {

class GlooStore final : public gloo::rendezvous::Store {
 public:
  GlooStore(RendezvousClient& client, std::string prefix, std::chrono::milliseconds timeout)
      : client_(client), prefix_(std::move(prefix)), timeout_(timeout) {}

  void set(const std::string& key, const std::vector<char>& data) override;
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;

  // OK, or the failure behind the first exception thrown.
  const Status& failure() const { return failure_; }

 private:
  [[noreturn]] void Throw(const Status& status);

  RendezvousClient& client_;
  const std::string prefix_;
  const std::chrono::milliseconds timeout_;
  Status failure_;
};

}  // namespace engine
