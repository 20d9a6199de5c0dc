// The cluster's certificate authority and the certificates of the agent
// protocol's mutual TLS (docs/agent-protocol.md).
//
// `clusterctl` creates one CA per cluster on first use, in its state folder
// (ca.key 0600, ca.crt), and issues from it:
//   - one certificate per host for that host's agent (server and client use:
//     agents also call each other), with the host's cluster address and
//     127.0.0.1 as IP subject alternative names;
//   - one operator certificate for clusterctl itself (client use).
// Keys are ECDSA P-256; certificates are valid for 10 years (the CA too):
// an air-gapped cluster has no renewal service, and the CA key never leaves
// the operator's machine.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cluster::control {

// What a certificate of the cluster CA may do (docs/agent-protocol.md, "Who
// may ask for what"). The CA writes the role into the subject's
// organizational unit: OU=operator or OU=agent. A certificate without one
// (issued before roles existed) has none and may only say hello.
enum class PeerRole { kNone, kOperator, kAgent };
const char* PeerRoleName(PeerRole role);  // "none" | "operator" | "agent"

// The role an organizational unit names; kNone for any other text.
PeerRole RoleNamed(std::string_view organizational_unit);
// The role a certificate (PEM) carries; kNone when it has none or cannot be read.
PeerRole RoleOfCertificate(const std::string& cert_pem);

// A certificate with its private key, both PEM.
struct Credentials {
  std::string ca_pem;       // the CA certificate that peers must chain to
  std::string cert_pem;
  std::string key_pem;      // secret: written 0600, never logged
};

class ClusterCa {
 public:
  // Loads the CA from `dir` (ca.crt, ca.key), creating both when neither
  // exists. FailedPrecondition when only one exists or they do not match,
  // with what to do; the folder is created 0700.
  static StatusOr<ClusterCa> LoadOrCreate(const std::filesystem::path& dir, const std::string& cluster_name);

  // An agent certificate: CN = host name, OU = agent, SAN IP = each of `ip_addresses`.
  StatusOr<Credentials> IssueAgent(const std::string& host_name, const std::vector<std::string>& ip_addresses) const;
  // The operator's certificate (CN = "clusterctl operator", OU = operator), client use only.
  StatusOr<Credentials> IssueOperator() const;

  const std::string& cert_pem() const { return cert_pem_; }

 private:
  std::string cluster_name_;
  std::string cert_pem_;
  std::string key_pem_;
};

// The operator's credentials in `dir`, issued on first use and kept
// (operator.crt, operator.key 0600) so that every command reuses them;
// issued anew when they no longer verify against `ca` or lack the operator
// role.
StatusOr<Credentials> LoadOrIssueOperator(const ClusterCa& ca, const std::filesystem::path& dir);

}  // namespace cluster::control
