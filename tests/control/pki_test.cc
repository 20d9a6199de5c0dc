// The cluster CA (control/pki.h): created once and kept private, and the
// certificates it issues say who they are for and what they may do.
#include "control/pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <set>

#include "common/files.h"
#include "control_test_util.h"

using namespace cluster;
using namespace cluster::control;
using cluster::control::testing::TempDir;
namespace fs = std::filesystem;

namespace {

struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
using CertPtr = std::unique_ptr<X509, CertFree>;

CertPtr ParsePem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  CertPtr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  REQUIRE(cert);
  return cert;
}

unsigned Mode(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::string CommonName(X509* cert) {
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
  return name;
}

// An IPv4 address of a certificate as text (all this test issues).
std::string Ipv4Text(const ASN1_OCTET_STRING* ip) {
  std::string text;
  for (int i = 0; i < ASN1_STRING_length(ip); ++i) {
    if (i > 0) text += ".";
    text += std::to_string(ASN1_STRING_get0_data(ip)[i]);
  }
  return text;
}

// The IP subject alternative names, as text.
std::set<std::string> IpAltNames(X509* cert) {
  std::set<std::string> ips;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_IPADD) continue;
    ips.insert(Ipv4Text(name->d.iPAddress));
  }
  GENERAL_NAMES_free(names);
  return ips;
}

// True when `leaf` verifies against `ca` for `purpose` (X509_PURPOSE_SSL_SERVER...).
bool Verifies(X509* leaf, X509* ca, int purpose) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

}  // namespace

TEST_CASE("The CA is created once, then reloaded with the same certificate", "[pki]") {
  TempDir dir;
  const fs::path state = dir.path / "clusterctl" / "lab";
  auto first = ClusterCa::LoadOrCreate(state, "lab");
  REQUIRE(first.ok());
  auto second = ClusterCa::LoadOrCreate(state, "lab");
  REQUIRE(second.ok());
  CHECK(second->cert_pem() == first->cert_pem());
  CHECK(*ReadFile(state / "ca.crt") == first->cert_pem());
}

TEST_CASE("The CA key is readable by its owner only, in a private folder", "[pki]") {
  TempDir dir;
  const fs::path state = dir.path / "lab";
  REQUIRE(ClusterCa::LoadOrCreate(state, "lab").ok());
  CHECK(Mode(state) == 0700);
  CHECK(Mode(state / "ca.key") == 0600);
  CHECK(Mode(state / "ca.crt") == 0644);
}

TEST_CASE("A CA certificate without its key is a clear error, not a new CA", "[pki]") {
  TempDir dir;
  REQUIRE(ClusterCa::LoadOrCreate(dir.path, "lab").ok());
  fs::remove(dir.path / "ca.key");
  auto loaded = ClusterCa::LoadOrCreate(dir.path, "lab");
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(loaded.status().message(), Catch::Contains("ca.crt exists but ca.key is missing"));
  CHECK_THAT(loaded.status().message(), Catch::Contains("Restore " + (dir.path / "ca.key").string()));
  CHECK_FALSE(fs::exists(dir.path / "ca.key"));
}

TEST_CASE("A CA key from another CA is a clear error", "[pki]") {
  TempDir a;
  TempDir b;
  REQUIRE(ClusterCa::LoadOrCreate(a.path, "lab").ok());
  REQUIRE(ClusterCa::LoadOrCreate(b.path, "lab").ok());
  fs::copy_file(b.path / "ca.key", a.path / "ca.key", fs::copy_options::overwrite_existing);
  auto loaded = ClusterCa::LoadOrCreate(a.path, "lab");
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(loaded.status().message(), Catch::Contains("is damaged"));
  CHECK_THAT(loaded.status().message(),
             Catch::Contains((a.path / "ca.key").string() + " is not the key of " + (a.path / "ca.crt").string()));
}

TEST_CASE("The CA certificate is a v3 CA valid for 10 years", "[pki]") {
  TempDir dir;
  auto ca = ClusterCa::LoadOrCreate(dir.path, "lab");
  REQUIRE(ca.ok());
  CertPtr cert = ParsePem(ca->cert_pem());
  CHECK(X509_get_version(cert.get()) == 2);
  CHECK(X509_check_ca(cert.get()) == 1);
  int days = 0;
  int seconds = 0;
  REQUIRE(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert.get()), X509_get0_notAfter(cert.get())) == 1);
  CHECK(days == 3650);
  CHECK(CommonName(cert.get()) == "clusterctl CA lab");
}

TEST_CASE("An agent certificate names its host and IP addresses and serves and calls", "[pki]") {
  TempDir dir;
  auto ca = ClusterCa::LoadOrCreate(dir.path, "lab");
  REQUIRE(ca.ok());
  auto agent = ca->IssueAgent("h1", {"10.0.0.1", "127.0.0.1"});
  REQUIRE(agent.ok());
  CHECK(agent->ca_pem == ca->cert_pem());
  CertPtr cert = ParsePem(agent->cert_pem);
  CertPtr ca_cert = ParsePem(ca->cert_pem());
  CHECK(CommonName(cert.get()) == "h1");
  CHECK(IpAltNames(cert.get()) == std::set<std::string>{"10.0.0.1", "127.0.0.1"});
  CHECK(X509_check_ca(cert.get()) == 0);
  CHECK(Verifies(cert.get(), ca_cert.get(), X509_PURPOSE_SSL_SERVER));
  CHECK(Verifies(cert.get(), ca_cert.get(), X509_PURPOSE_SSL_CLIENT));
  CHECK_THAT(agent->key_pem, Catch::StartsWith("-----BEGIN PRIVATE KEY-----"));
}

TEST_CASE("The operator certificate is for client use only", "[pki]") {
  TempDir dir;
  auto ca = ClusterCa::LoadOrCreate(dir.path, "lab");
  REQUIRE(ca.ok());
  auto op = ca->IssueOperator();
  REQUIRE(op.ok());
  CertPtr cert = ParsePem(op->cert_pem);
  CertPtr ca_cert = ParsePem(ca->cert_pem());
  CHECK(CommonName(cert.get()) == "clusterctl operator");
  CHECK(Verifies(cert.get(), ca_cert.get(), X509_PURPOSE_SSL_CLIENT));
  CHECK_FALSE(Verifies(cert.get(), ca_cert.get(), X509_PURPOSE_SSL_SERVER));
}

TEST_CASE("Certificates of another CA do not verify against this one", "[pki]") {
  TempDir a;
  TempDir b;
  auto ca_a = ClusterCa::LoadOrCreate(a.path, "lab");
  auto ca_b = ClusterCa::LoadOrCreate(b.path, "lab");
  REQUIRE(ca_a.ok());
  REQUIRE(ca_b.ok());
  auto agent_b = ca_b->IssueAgent("h1", {"127.0.0.1"});
  REQUIRE(agent_b.ok());
  CertPtr cert = ParsePem(agent_b->cert_pem);
  CertPtr ca_cert = ParsePem(ca_a->cert_pem());
  CHECK_FALSE(Verifies(cert.get(), ca_cert.get(), X509_PURPOSE_SSL_SERVER));
}

TEST_CASE("Serial numbers are random 128-bit numbers", "[pki]") {
  TempDir dir;
  auto ca = ClusterCa::LoadOrCreate(dir.path, "lab");
  REQUIRE(ca.ok());
  std::set<std::string> serials;
  int widest = 0;
  for (int i = 0; i < 4; ++i) {
    auto agent = ca->IssueAgent("h" + std::to_string(i), {"127.0.0.1"});
    REQUIRE(agent.ok());
    CertPtr cert = ParsePem(agent->cert_pem);
    BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr);
    widest = std::max(widest, BN_num_bits(serial));
    char* hex = BN_bn2hex(serial);
    serials.insert(hex);
    OPENSSL_free(hex);
    BN_free(serial);
  }
  CHECK(serials.size() == 4);
  CHECK(widest > 64);
  CHECK(widest <= 128);
}

TEST_CASE("An agent certificate names hosts by IP address only", "[pki]") {
  TempDir dir;
  auto ca = ClusterCa::LoadOrCreate(dir.path, "lab");
  REQUIRE(ca.ok());
  auto agent = ca->IssueAgent("h1", {"10.0.0.1,DNS:evil.example"});
  REQUIRE_FALSE(agent.ok());
  CHECK(agent.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(agent.status().message(), Catch::Contains("is not an IP address"));
}

TEST_CASE("The operator's credentials are issued once and kept", "[pki]") {
  TempDir dir;
  auto ca = ClusterCa::LoadOrCreate(dir.path, "lab");
  REQUIRE(ca.ok());
  auto first = LoadOrIssueOperator(*ca, dir.path);
  REQUIRE(first.ok());
  auto second = LoadOrIssueOperator(*ca, dir.path);
  REQUIRE(second.ok());
  CHECK(second->cert_pem == first->cert_pem);
  CHECK(second->key_pem == first->key_pem);
  CHECK(second->ca_pem == ca->cert_pem());
  CHECK(Mode(dir.path / "operator.key") == 0600);
  CHECK(*ReadFile(dir.path / "operator.crt") == first->cert_pem);
}

TEST_CASE("Operator credentials of a replaced CA are issued anew", "[pki]") {
  TempDir dir;
  TempDir other;
  auto old_ca = ClusterCa::LoadOrCreate(other.path, "lab");
  REQUIRE(old_ca.ok());
  auto old_operator = LoadOrIssueOperator(*old_ca, dir.path);
  REQUIRE(old_operator.ok());
  auto ca = ClusterCa::LoadOrCreate(dir.path, "lab");
  REQUIRE(ca.ok());
  auto fresh = LoadOrIssueOperator(*ca, dir.path);
  REQUIRE(fresh.ok());
  CHECK(fresh->cert_pem != old_operator->cert_pem);
  CertPtr cert = ParsePem(fresh->cert_pem);
  CertPtr ca_cert = ParsePem(ca->cert_pem());
  CHECK(Verifies(cert.get(), ca_cert.get(), X509_PURPOSE_SSL_CLIENT));
}
