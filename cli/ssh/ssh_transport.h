// SshTransport: commands on a host over one libssh session, each in its own
// exec channel. Key authentication only (an identity file, else ssh-agent,
// else ~/.ssh/id_*); host keys are checked strictly by KnownHosts.
//
// Timeouts: `connect_timeout_s` bounds the TCP connect and the handshake;
// after that, sending fails when the host opens no window for
// `stall_timeout_s`; waiting for a reply has no limit (a host may hash a large
// file for minutes). TCP keepalive (probes after 15 s idle, every 5 s, 4 tries)
// notices a dead link in either case; libssh 0.10 has no SSH-level keepalive.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/ssh/known_hosts.h"
#include "cli/transfer/transport.h"

namespace cluster::cli {

struct SshTarget {
  std::string label;    // "gpu1 (10.0.0.11)", for messages
  std::string address;
  int port = 22;
  std::string user;
  std::optional<std::filesystem::path> identity_file;
  int connect_timeout_s = 10;
  int stall_timeout_s = 120;
};

class SshTransport : public Transport {
 public:
  // Connects, checks the host key, authenticates. Unavailable (cannot reach),
  // PermissionDenied (host key or authentication refused); messages name the host.
  static StatusOr<std::unique_ptr<SshTransport>> Connect(const SshTarget& target, KnownHosts& known_hosts);
  ~SshTransport() override;

  StatusOr<std::unique_ptr<RemoteProcess>> Start(const std::string& command) override;
  bool IsLocal() const override { return false; }

 private:
  SshTransport(void* session, std::string label) : session_(session), label_(std::move(label)) {}
  void* session_;  // ssh_session; void* keeps libssh out of this header's users
  std::string label_;
};

}  // namespace cluster::cli
