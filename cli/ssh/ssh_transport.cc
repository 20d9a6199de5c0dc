#include "cli/ssh/ssh_transport.h"

#include <libssh/libssh.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <fmt/format.h>

namespace cluster::cli {
namespace {

ssh_session AsSession(void* p) { return static_cast<ssh_session>(p); }

// libssh's SSH_TIMEOUT_INFINITE, which its public header does not export.
constexpr int kWaitForever = -1;

class SshProcess : public RemoteProcess {
 public:
  SshProcess(ssh_channel channel, std::string label) : channel_(channel), label_(std::move(label)) {}
  ~SshProcess() override {
    ssh_channel_close(channel_);
    ssh_channel_free(channel_);
  }

  Status Write(const void* data, std::size_t size) override {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      const uint32_t chunk = static_cast<uint32_t>(std::min<std::size_t>(size, 1 << 20));
      int n = ssh_channel_write(channel_, p, chunk);
      if (n == SSH_ERROR) return Lost("while sending");
      p += n;
      size -= static_cast<std::size_t>(n);
    }
    return Status::Ok();
  }

  StatusOr<std::size_t> Read(char* out, std::size_t max) override {
    for (;;) {
      // No timeout on replies: a host may legitimately take minutes (hashing a
      // large file it already has, flushing one it received). A dead link is
      // noticed by TCP keepalive instead, which ends the read with an error.
      int n = ssh_channel_read_timeout(channel_, out, static_cast<uint32_t>(std::min<std::size_t>(max, 1 << 20)), 0,
                                       kWaitForever);
      if (n == SSH_ERROR) return Lost("while waiting for a reply");
      if (n > 0) return static_cast<std::size_t>(n);
      // libssh reports EOF only once stderr is read too: a command that ended
      // after writing only to stderr would otherwise be waited for forever.
      DrainStderr();
      if (ssh_channel_is_eof(channel_) || !ssh_channel_is_open(channel_)) return std::size_t{0};
    }
  }

  void CloseInput() override { ssh_channel_send_eof(channel_); }

  StatusOr<int> Wait() override {
    char buf[4096];
    while (ssh_channel_is_open(channel_) && !ssh_channel_is_eof(channel_)) {
      int n = ssh_channel_read(channel_, buf, sizeof buf, 0);
      if (n == SSH_ERROR) return Lost("while waiting for the command to end");
      if (n == 0) break;
    }
    DrainStderr();
    return ssh_channel_get_exit_status(channel_);
  }

  std::string ErrorText() override {
    DrainStderr();
    while (!err_.empty() && (err_.back() == '\n' || err_.back() == ' ')) err_.pop_back();
    return err_;
  }

 private:
  void DrainStderr() {
    char buf[4096];
    int n;
    while ((n = ssh_channel_read_nonblocking(channel_, buf, sizeof buf, 1)) > 0) err_.append(buf, static_cast<size_t>(n));
  }
  Status Lost(const char* when) {
    return UnavailableError(fmt::format("{}: the SSH connection was lost {}: {}", label_, when,
                                        ssh_get_error(ssh_channel_get_session(channel_))));
  }
  ssh_channel channel_;
  std::string label_;
  std::string err_;
};

void EnableTcpKeepalive(ssh_session session) {
  const int fd = ssh_get_fd(session);
  if (fd < 0) return;
  int on = 1, idle = 15, interval = 5, count = 4;
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  // Keepalive probes only an idle connection; unacknowledged data in flight is
  // bounded by the user timeout instead (else ~15 minutes of retransmissions).
  unsigned user_timeout_ms = 60000;
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
}

Status Authenticate(ssh_session session, const SshTarget& t) {
  if (t.identity_file) {
    ssh_key key = nullptr;
    if (ssh_pki_import_privkey_file(t.identity_file->c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK) {
      return PermissionDeniedError(fmt::format(
          "{}: cannot read the identity file {} (it must be an unencrypted private key, or leave "
          "ssh.identity_file out to use ssh-agent)", t.label, t.identity_file->string()));
    }
    const int rc = ssh_userauth_publickey(session, nullptr, key);
    ssh_key_free(key);
    if (rc == SSH_AUTH_SUCCESS) return Status::Ok();
    return PermissionDeniedError(fmt::format(
        "{}: the host refused key authentication as {} with {}; add its public key to ~{}/.ssh/authorized_keys "
        "on the host", t.label, t.user, t.identity_file->string(), t.user));
  }
  if (ssh_userauth_agent(session, nullptr) == SSH_AUTH_SUCCESS) return Status::Ok();
  if (ssh_userauth_publickey_auto(session, nullptr, nullptr) == SSH_AUTH_SUCCESS) return Status::Ok();
  return PermissionDeniedError(fmt::format(
      "{}: the host refused key authentication as {} (tried ssh-agent and ~/.ssh/id_*); set ssh.identity_file "
      "or load a key into ssh-agent", t.label, t.user));
}

}  // namespace

StatusOr<std::unique_ptr<SshTransport>> SshTransport::Connect(const SshTarget& t, KnownHosts& known_hosts) {
  ssh_session session = ssh_new();
  if (!session) return InternalError("cannot create an SSH session");
  std::unique_ptr<SshTransport> transport(new SshTransport(session, t.label));
  long timeout = t.connect_timeout_s;
  int no = 0;
  unsigned port = static_cast<unsigned>(t.port);
  ssh_options_set(session, SSH_OPTIONS_HOST, t.address.c_str());
  ssh_options_set(session, SSH_OPTIONS_PORT, &port);
  ssh_options_set(session, SSH_OPTIONS_USER, t.user.c_str());
  ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &timeout);
  ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &no);  // the inventory is the one source of settings
  ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, known_hosts.file().c_str());
  ssh_options_set(session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  // AES-GCM first: with AES-NI it is the cheapest authenticated cipher per
  // byte, and push is CPU-bound on fast links. The rest are fallbacks.
  const char* ciphers = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr";
  ssh_options_set(session, SSH_OPTIONS_CIPHERS_C_S, ciphers);
  ssh_options_set(session, SSH_OPTIONS_CIPHERS_S_C, ciphers);
  // libssh reads the known_hosts file while connecting (to order host key
  // algorithms): a file it must not read is refused before.
  CLUSTER_RETURN_IF_ERROR(known_hosts.CheckFile(t.label));
  if (ssh_connect(session) != SSH_OK) {
    return UnavailableError(fmt::format(
        "{}: cannot connect to {}:{}: {}; check that sshd runs on the host and listens on port {} (ssh.port), "
        "and that no firewall between this machine and the host blocks it",
        t.label, t.address, t.port, ssh_get_error(session), t.port));
  }
  CLUSTER_RETURN_IF_ERROR(known_hosts.Verify(session, t.label, t.address, t.port));
  CLUSTER_RETURN_IF_ERROR(Authenticate(session, t));
  EnableTcpKeepalive(session);
  long stall = std::max(t.stall_timeout_s, t.connect_timeout_s);
  ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &stall);
  return transport;
}

SshTransport::~SshTransport() {
  ssh_disconnect(AsSession(session_));
  ssh_free(AsSession(session_));
}

StatusOr<std::unique_ptr<RemoteProcess>> SshTransport::Start(const std::string& command) {
  ssh_session session = AsSession(session_);
  ssh_channel channel = ssh_channel_new(session);
  if (!channel) return UnavailableError(fmt::format("{}: cannot open a channel: {}", label_, ssh_get_error(session)));
  if (ssh_channel_open_session(channel) != SSH_OK || ssh_channel_request_exec(channel, command.c_str()) != SSH_OK) {
    std::string why = ssh_get_error(session);
    ssh_channel_free(channel);
    return UnavailableError(fmt::format("{}: cannot run a command: {}", label_, why));
  }
  return std::unique_ptr<RemoteProcess>(std::make_unique<SshProcess>(channel, label_));
}

}  // namespace cluster::cli
