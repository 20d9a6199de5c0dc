// Strict host-key checking against one known_hosts file, shared by every
// host's connection in a run.
//
// Rules (docs/push.md, design.md "Security"):
//   - a host whose key matches its known_hosts entry is accepted;
//   - a host with no entry is refused, unless accept_new (then its key is
//     appended to the file, like OpenSSH's StrictHostKeyChecking=accept-new);
//   - a host whose key differs from its entry is always refused; the message
//     gives both SHA256 fingerprints.
#pragma once

#include <libssh/libssh.h>

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"

namespace cluster::cli {

inline constexpr std::uintmax_t kMaxKnownHostsBytes = std::uintmax_t{16} << 20;

class KnownHosts {
 public:
  KnownHosts(std::filesystem::path file, bool accept_new) : file_(std::move(file)), accept_new_(accept_new) {}

  // REQUIRES: `session` is connected, with SSH_OPTIONS_KNOWNHOSTS set to file().
  // `label` names the host in messages ("gpu1 (10.0.0.11)"); `address` and
  // `port` are what known_hosts lists it under ("ADDR", or "[ADDR]:PORT").
  // Thread-safe: appends to the file are serialised.
  Status Verify(ssh_session session, const std::string& label, const std::string& address, int port);

  // libssh opens the file itself, also while connecting, so what it must
  // not read is refused before: anything but a regular file (a FIFO would
  // block it forever, /dev/zero feed it without end) or one beyond
  // kMaxKnownHostsBytes. An absent file is fine. `label` names the host.
  Status CheckFile(const std::string& label) const;

  const std::filesystem::path& file() const { return file_; }

 private:
  // SHA256 fingerprints of the keys the file lists for this host.
  std::vector<std::string> KnownFingerprints(const std::string& address, int port) const;

  std::filesystem::path file_;
  bool accept_new_;
  std::mutex write_mu_;  // serialises appends to file_
};

// "SHA256:..." of a public key, as OpenSSH prints it; "?" if it cannot be computed.
std::string Sha256Fingerprint(ssh_key key);

}  // namespace cluster::cli
