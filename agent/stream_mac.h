// StreamMac: HMAC-SHA256 over the bytes of one chain-relay hop, keyed by that
// hop's one-time token. The sender appends the 32-byte tag after the bytes;
// the receiver recomputes it and refuses the file on a mismatch. This makes
// the host-to-host hop authenticated for its whole length, not only at connect
// (XXH3 alone detects corruption, not forgery). One owner thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace cluster::agent {

class StreamMac {
 public:
  static constexpr std::size_t kTagSize = 32;

  explicit StreamMac(const std::string& key);
  ~StreamMac();
  StreamMac(const StreamMac&) = delete;
  StreamMac& operator=(const StreamMac&) = delete;

  void Update(const void* data, std::size_t size);
  // The tag of everything passed to Update; call once.
  std::string Finish();

  // Constant-time comparison of two tags.
  static bool Equal(const std::string& a, const std::string& b);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cluster::agent
