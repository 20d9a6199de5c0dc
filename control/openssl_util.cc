#include "control/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>

namespace cluster::control::ossl {
namespace {

Bio MemoryBio(std::string_view text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

StatusOr<std::string> BioText(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  if (size < 0 || data == nullptr) return InternalError("cannot read an OpenSSL memory buffer");
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

std::string DrainErrors(std::string_view fallback) {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(code);
    if (!text.empty()) text += "; ";
    text += reason != nullptr ? reason : ("error " + std::to_string(code));
  }
  return text.empty() ? std::string(fallback) : text;
}

StatusOr<Cert> ParseCert(std::string_view pem, std::string_view what) {
  Bio bio = MemoryBio(pem);
  Cert cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return DataLossError(std::string(what) + ": not a PEM certificate (" + DrainErrors() + ")");
  return cert;
}

StatusOr<Key> ParseKey(std::string_view pem, std::string_view what) {
  Bio bio = MemoryBio(pem);
  // A null password callback with an empty password: an encrypted key fails
  // instead of prompting on the terminal.
  char empty[] = "";
  Key key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, empty) : nullptr);
  if (!key) return DataLossError(std::string(what) + ": not a PEM private key (" + DrainErrors() + ")");
  return key;
}

StatusOr<std::string> CertToPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return InternalError("cannot write a certificate as PEM: " + DrainErrors());
  }
  return BioText(bio.get());
}

StatusOr<std::string> KeyToPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return InternalError("cannot write a private key as PEM: " + DrainErrors());
  }
  return BioText(bio.get());
}

namespace {

std::string SubjectField(X509* cert, int nid) {
  X509_NAME* name = cert != nullptr ? X509_get_subject_name(cert) : nullptr;
  if (name == nullptr) return "";
  int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int size = ASN1_STRING_to_UTF8(&utf8, data);
  if (size < 0) return "";
  std::string text(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(size));
  OPENSSL_free(utf8);
  return text;
}

}  // namespace

std::string CommonName(X509* cert) { return SubjectField(cert, NID_commonName); }

std::string OrganizationalUnit(X509* cert) { return SubjectField(cert, NID_organizationalUnitName); }

}  // namespace cluster::control::ossl
