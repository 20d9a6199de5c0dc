// The cluster CA: key generation, certificate issuing and the files of the
// operator's state folder.
#include "control/pki.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <set>
#include <system_error>

#include "common/files.h"
#include "control/openssl_util.h"

namespace cluster::control {
namespace {

namespace fs = std::filesystem;
using ossl::Cert;
using ossl::DrainErrors;
using ossl::Key;

constexpr long kValidityDays = 3650;
// Certificates start an hour in the past: hosts' clocks differ, and a
// certificate that is "not yet valid" on a host a minute behind would fail.
constexpr long kBackdateSeconds = 3600;
constexpr char kOperatorName[] = "clusterctl operator";

// What an issued certificate may be used for.
enum class Role { kCa, kAgent, kOperator };

StatusOr<Key> NewKey() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return InternalError("cannot generate an EC P-256 key: " + DrainErrors());
  return key;
}

// A random positive 128-bit serial (RFC 5280 allows up to 20 octets).
Status SetRandomSerial(X509* cert) {
  std::unique_ptr<BIGNUM, ossl::Deleter<BN_free>> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    return InternalError("cannot draw a certificate serial number: " + DrainErrors());
  }
  return Status::Ok();
}

// CN = common_name, O = "clusterctl cluster NAME" so that a certificate says
// which cluster it belongs to, OU = its role (leaf certificates).
Status SetSubject(X509* cert, const std::string& common_name, const std::string& cluster_name,
                  const std::string& role) {
  X509_NAME* name = X509_get_subject_name(cert);
  auto add = [&](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                      -1, -1, 0) == 1;
  };
  bool ok = add("CN", common_name);
  if (ok && !cluster_name.empty()) ok = add("O", "clusterctl cluster " + cluster_name);
  if (ok && !role.empty()) ok = add("OU", role);
  if (!ok) return InvalidArgumentError("cannot set certificate subject '" + common_name + "': " + DrainErrors());
  return Status::Ok();
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  std::unique_ptr<X509_EXTENSION, ossl::Deleter<X509_EXTENSION_free>> ext(
      X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return InternalError(std::string("cannot add certificate extension ") + OBJ_nid2sn(nid) + " = " + value + ": " +
                         DrainErrors());
  }
  return Status::Ok();
}

// "IP:10.0.0.1,IP:127.0.0.1". Each address is checked first so that no text
// of the caller's reaches OpenSSL's extension syntax.
StatusOr<std::string> IpAltNames(const std::vector<std::string>& ip_addresses) {
  std::string names;
  std::set<std::string> seen;
  for (const std::string& ip : ip_addresses) {
    unsigned char buffer[16];
    if (inet_pton(AF_INET, ip.c_str(), buffer) != 1 && inet_pton(AF_INET6, ip.c_str(), buffer) != 1) {
      return InvalidArgumentError("'" + ip + "' is not an IP address; an agent certificate names its host by IP");
    }
    if (!seen.insert(ip).second) continue;
    names += (names.empty() ? "IP:" : ",IP:") + ip;
  }
  return names;
}

// Issues a certificate for `subject_key`, signed by `issuer` (nullptr: self-signed).
StatusOr<Cert> Issue(Role role, const std::string& common_name, const std::string& cluster_name,
                     const std::vector<std::string>& ip_addresses, EVP_PKEY* subject_key, X509* issuer_cert,
                     EVP_PKEY* issuer_key) {
  Cert cert(X509_new());
  if (!cert) return InternalError("cannot allocate a certificate: " + DrainErrors());
  X509* x = cert.get();
  if (X509_set_version(x, 2) != 1 ||  // v3
      X509_gmtime_adj(X509_getm_notBefore(x), -kBackdateSeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(x), static_cast<int>(kValidityDays), 0, nullptr) == nullptr ||
      X509_set_pubkey(x, subject_key) != 1) {
    return InternalError("cannot fill in a certificate: " + DrainErrors());
  }
  CLUSTER_RETURN_IF_ERROR(SetRandomSerial(x));
  const std::string role_name = role == Role::kAgent      ? PeerRoleName(PeerRole::kAgent)
                                : role == Role::kOperator ? PeerRoleName(PeerRole::kOperator)
                                                          : "";
  CLUSTER_RETURN_IF_ERROR(SetSubject(x, common_name, cluster_name, role_name));
  X509* issuer = issuer_cert != nullptr ? issuer_cert : x;
  if (X509_set_issuer_name(x, X509_get_subject_name(issuer)) != 1) {
    return InternalError("cannot set the certificate issuer: " + DrainErrors());
  }

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  CLUSTER_RETURN_IF_ERROR(AddExtension(x, &ctx, NID_subject_key_identifier, "hash"));
  if (role == Role::kCa) {
    CLUSTER_RETURN_IF_ERROR(AddExtension(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    CLUSTER_RETURN_IF_ERROR(AddExtension(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    CLUSTER_RETURN_IF_ERROR(AddExtension(x, &ctx, NID_authority_key_identifier, "keyid:always"));
    CLUSTER_RETURN_IF_ERROR(AddExtension(x, &ctx, NID_basic_constraints, "critical,CA:FALSE"));
    CLUSTER_RETURN_IF_ERROR(AddExtension(x, &ctx, NID_key_usage, "critical,digitalSignature"));
    CLUSTER_RETURN_IF_ERROR(AddExtension(x, &ctx, NID_ext_key_usage,
                                         role == Role::kAgent ? "serverAuth,clientAuth" : "clientAuth"));
    CLUSTER_ASSIGN_OR_RETURN(std::string alt_names, IpAltNames(ip_addresses));
    if (!alt_names.empty()) CLUSTER_RETURN_IF_ERROR(AddExtension(x, &ctx, NID_subject_alt_name, alt_names));
  }
  if (X509_sign(x, issuer_key, EVP_sha256()) <= 0) {
    return InternalError("cannot sign the certificate of '" + common_name + "': " + DrainErrors());
  }
  return cert;
}

bool Exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// Creates `dir` (and its parents) and makes it 0700: it holds private keys.
Status MakePrivateFolder(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return PermissionDeniedError(dir.string() + ": cannot create the folder: " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) {
    return PermissionDeniedError(dir.string() + ": cannot make the folder private (mode 0700)");
  }
  return Status::Ok();
}

// A certificate and its key as PEM, checked to belong together.
struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

StatusOr<KeyPair> ReadMatchingPair(const fs::path& cert_path, const fs::path& key_path) {
  CLUSTER_ASSIGN_OR_RETURN(std::string cert_pem, ReadFile(cert_path));
  CLUSTER_ASSIGN_OR_RETURN(std::string key_pem, ReadFile(key_path));
  CLUSTER_ASSIGN_OR_RETURN(Cert cert, ossl::ParseCert(cert_pem, cert_path.string()));
  CLUSTER_ASSIGN_OR_RETURN(Key key, ossl::ParseKey(key_pem, key_path.string()));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    DrainErrors();
    return FailedPreconditionError(key_path.string() + " is not the key of " + cert_path.string());
  }
  return KeyPair{std::move(cert_pem), std::move(key_pem)};
}

// Writes the key (0600) before the certificate: an interrupted write leaves a
// key without a certificate, which LoadOrCreate reports, never the reverse.
Status WritePair(const fs::path& cert_path, const fs::path& key_path, const KeyPair& pair) {
  CLUSTER_RETURN_IF_ERROR(WriteFileAtomically(key_path, pair.key_pem, 0600));
  return WriteFileAtomically(cert_path, pair.cert_pem, 0644);
}

StatusOr<KeyPair> ToPem(X509* cert, EVP_PKEY* key) {
  CLUSTER_ASSIGN_OR_RETURN(std::string cert_pem, ossl::CertToPem(cert));
  CLUSTER_ASSIGN_OR_RETURN(std::string key_pem, ossl::KeyToPem(key));
  return KeyPair{std::move(cert_pem), std::move(key_pem)};
}

}  // namespace

const char* PeerRoleName(PeerRole role) {
  switch (role) {
    case PeerRole::kOperator: return "operator";
    case PeerRole::kAgent: return "agent";
    case PeerRole::kNone: break;
  }
  return "none";
}

PeerRole RoleNamed(std::string_view organizational_unit) {
  for (PeerRole role : {PeerRole::kOperator, PeerRole::kAgent}) {
    if (organizational_unit == PeerRoleName(role)) return role;
  }
  return PeerRole::kNone;
}

PeerRole RoleOfCertificate(const std::string& cert_pem) {
  auto cert = ossl::ParseCert(cert_pem, "a certificate");
  return cert.ok() ? RoleNamed(ossl::OrganizationalUnit(cert->get())) : PeerRole::kNone;
}

StatusOr<ClusterCa> ClusterCa::LoadOrCreate(const fs::path& dir, const std::string& cluster_name) {
  CLUSTER_RETURN_IF_ERROR(MakePrivateFolder(dir));
  const fs::path cert_path = dir / "ca.crt";
  const fs::path key_path = dir / "ca.key";
  const bool have_cert = Exists(cert_path);
  const bool have_key = Exists(key_path);
  ClusterCa ca;
  ca.cluster_name_ = cluster_name;

  if (have_cert != have_key) {
    const fs::path& present = have_cert ? cert_path : key_path;
    const fs::path& missing = have_cert ? key_path : cert_path;
    return FailedPreconditionError(
        "the cluster CA in " + dir.string() + " is incomplete: " + present.filename().string() + " exists but " +
        missing.filename().string() + " is missing. Restore " + missing.string() + " from a backup, or remove " +
        present.string() + " to create a new CA (every agent then needs a new certificate)");
  }
  if (have_cert) {
    auto pair = ReadMatchingPair(cert_path, key_path);
    if (!pair.ok()) {
      return FailedPreconditionError("the cluster CA in " + dir.string() + " is damaged: " +
                                     pair.status().message() +
                                     ". Restore both files from a backup, or remove both to create a new CA "
                                     "(every agent then needs a new certificate)");
    }
    ca.cert_pem_ = std::move(pair->cert_pem);
    ca.key_pem_ = std::move(pair->key_pem);
    return ca;
  }

  CLUSTER_ASSIGN_OR_RETURN(Key key, NewKey());
  CLUSTER_ASSIGN_OR_RETURN(Cert cert, Issue(Role::kCa, "clusterctl CA " + cluster_name, cluster_name, {}, key.get(),
                                            nullptr, key.get()));
  CLUSTER_ASSIGN_OR_RETURN(KeyPair pair, ToPem(cert.get(), key.get()));
  CLUSTER_RETURN_IF_ERROR(WritePair(cert_path, key_path, pair));
  ca.cert_pem_ = std::move(pair.cert_pem);
  ca.key_pem_ = std::move(pair.key_pem);
  return ca;
}

namespace {

StatusOr<Credentials> IssueLeaf(Role role, const std::string& common_name, const std::vector<std::string>& ips,
                                const std::string& cluster_name, const std::string& ca_cert_pem,
                                const std::string& ca_key_pem) {
  CLUSTER_ASSIGN_OR_RETURN(Cert ca_cert, ossl::ParseCert(ca_cert_pem, "the cluster CA certificate"));
  CLUSTER_ASSIGN_OR_RETURN(Key ca_key, ossl::ParseKey(ca_key_pem, "the cluster CA key"));
  CLUSTER_ASSIGN_OR_RETURN(Key key, NewKey());
  CLUSTER_ASSIGN_OR_RETURN(Cert cert,
                           Issue(role, common_name, cluster_name, ips, key.get(), ca_cert.get(), ca_key.get()));
  CLUSTER_ASSIGN_OR_RETURN(KeyPair pair, ToPem(cert.get(), key.get()));
  return Credentials{ca_cert_pem, std::move(pair.cert_pem), std::move(pair.key_pem)};
}

}  // namespace

StatusOr<Credentials> ClusterCa::IssueAgent(const std::string& host_name,
                                            const std::vector<std::string>& ip_addresses) const {
  if (host_name.empty()) return InvalidArgumentError("an agent certificate needs a host name");
  return IssueLeaf(Role::kAgent, host_name, ip_addresses, cluster_name_, cert_pem_, key_pem_);
}

StatusOr<Credentials> ClusterCa::IssueOperator() const {
  return IssueLeaf(Role::kOperator, kOperatorName, {}, cluster_name_, cert_pem_, key_pem_);
}

StatusOr<Credentials> LoadOrIssueOperator(const ClusterCa& ca, const fs::path& dir) {
  CLUSTER_RETURN_IF_ERROR(MakePrivateFolder(dir));
  const fs::path cert_path = dir / "operator.crt";
  const fs::path key_path = dir / "operator.key";
  if (Exists(cert_path) && Exists(key_path)) {
    // Kept while it still belongs to this CA; a CA created anew (or a damaged
    // pair) means a new operator certificate, which costs nothing.
    auto pair = ReadMatchingPair(cert_path, key_path);
    if (pair.ok()) {
      CLUSTER_ASSIGN_OR_RETURN(Cert ca_cert, ossl::ParseCert(ca.cert_pem(), "the cluster CA certificate"));
      CLUSTER_ASSIGN_OR_RETURN(Cert cert, ossl::ParseCert(pair->cert_pem, cert_path.string()));
      Key ca_public(X509_get_pubkey(ca_cert.get()));
      if (ca_public && X509_verify(cert.get(), ca_public.get()) == 1 &&
          RoleOfCertificate(pair->cert_pem) == PeerRole::kOperator) {
        return Credentials{ca.cert_pem(), std::move(pair->cert_pem), std::move(pair->key_pem)};
      }
      DrainErrors();
    }
  }
  CLUSTER_ASSIGN_OR_RETURN(Credentials issued, ca.IssueOperator());
  CLUSTER_RETURN_IF_ERROR(WritePair(cert_path, key_path, KeyPair{issued.cert_pem, issued.key_pem}));
  return issued;
}

}  // namespace cluster::control
