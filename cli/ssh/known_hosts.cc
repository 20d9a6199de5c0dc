#include "cli/ssh/known_hosts.h"

#include <fstream>

#include <fmt/format.h>

namespace cluster::cli {

std::string Sha256Fingerprint(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t len = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != 0) return "?";
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
  std::string out = text ? text : "?";
  ssh_string_free_char(text);
  ssh_clean_pubkey_hash(&hash);
  return out;
}

std::vector<std::string> KnownHosts::KnownFingerprints(const std::string& address, int port) const {
  // libssh hands back the entry only when it matches, so a changed key's old
  // entry is read here, line by line, with libssh's own line parser.
  std::vector<std::string> out;
  const std::string host = port == 22 ? address : fmt::format("[{}]:{}", address, port);
  std::ifstream in(file_);
  std::string line;
  while (std::getline(in, line)) {
    ssh_knownhosts_entry* entry = nullptr;
    if (ssh_known_hosts_parse_line(host.c_str(), line.c_str(), &entry) == SSH_OK && entry != nullptr) {
      if (entry->publickey) {
        out.push_back(fmt::format("{} {}", ssh_key_type_to_char(ssh_key_type(entry->publickey)),
                                  Sha256Fingerprint(entry->publickey)));
      }
      ssh_knownhosts_entry_free(entry);
    }
  }
  return out;
}

Status KnownHosts::CheckFile(const std::string& label) const {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(file_, ec);
  if (ec || !std::filesystem::exists(status)) return Status::Ok();  // created on the first accepted key
  const std::string fix = "point ssh.known_hosts_file at a regular file (it is created when absent)";
  if (!std::filesystem::is_regular_file(status)) {
    return FailedPreconditionError(
        fmt::format("{}: ssh.known_hosts_file {} is not a regular file; {}", label, file_.string(), fix));
  }
  if (std::filesystem::file_size(file_, ec) > kMaxKnownHostsBytes) {
    return FailedPreconditionError(fmt::format("{}: ssh.known_hosts_file {} is larger than {} MiB; {}", label,
                                               file_.string(), kMaxKnownHostsBytes >> 20, fix));
  }
  return Status::Ok();
}

Status KnownHosts::Verify(ssh_session session, const std::string& label, const std::string& address, int port) {
  ssh_key presented = nullptr;
  if (ssh_get_server_publickey(session, &presented) != SSH_OK) {
    return UnavailableError(fmt::format("{}: the host sent no public key: {}", label, ssh_get_error(session)));
  }
  const std::string presented_fp = Sha256Fingerprint(presented);
  const std::string key_type = ssh_key_type_to_char(ssh_key_type(presented));
  ssh_key_free(presented);

  std::lock_guard<std::mutex> lock(write_mu_);
  const ssh_known_hosts_e state = ssh_session_is_known_server(session);
  switch (state) {
    case SSH_KNOWN_HOSTS_OK:
      return Status::Ok();
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER: {
      const std::vector<std::string> known = KnownFingerprints(address, port);
      std::string known_fp;
      for (const auto& fp : known) known_fp += (known_fp.empty() ? "" : " and ") + fp;
      if (known_fp.empty()) known_fp = "another key";
      return PermissionDeniedError(fmt::format(
          "{}: REFUSED: the host key has changed: {} has {}, the host presented {} {}. This can be a "
          "man-in-the-middle attack, or the host was reinstalled; if you know it was, remove the old entry "
          "(ssh-keygen -R HOST -f {}) and run the command again",
          label, file_.string(), known_fp, key_type, presented_fp, file_.string()));
    }
    case SSH_KNOWN_HOSTS_NOT_FOUND:
    case SSH_KNOWN_HOSTS_UNKNOWN: {
      if (!accept_new_) {
        return PermissionDeniedError(fmt::format(
            "{}: REFUSED: unknown host key {} {} (not in {}). Check the fingerprint with the host's "
            "administrator, then run the command again with --accept-new-host-keys to record it",
            label, key_type, presented_fp, file_.string()));
      }
      std::error_code ec;
      std::filesystem::create_directories(file_.parent_path(), ec);
      if (ssh_session_update_known_hosts(session) != SSH_OK) {
        return PermissionDeniedError(fmt::format("{}: cannot record the host key in {}: {}", label, file_.string(),
                                                 ssh_get_error(session)));
      }
      return Status::Ok();
    }
    case SSH_KNOWN_HOSTS_ERROR:
    default:
      return InternalError(fmt::format("{}: cannot check the host key against {}: {}", label, file_.string(),
                                       ssh_get_error(session)));
  }
}

}  // namespace cluster::cli
