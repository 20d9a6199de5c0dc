// Internal to the control library: owning handles for OpenSSL objects, PEM
// conversions and OpenSSL's error queue as text. Nothing here throws.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cluster::control::ossl {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};

using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;

// The reasons on this thread's OpenSSL error queue ("bad decrypt; no start
// line"), which it empties; `fallback` when the queue is empty.
std::string DrainErrors(std::string_view fallback = "unknown OpenSSL error");

// PEM in and out. `what` names the text in errors ("/state/ca.crt").
StatusOr<Cert> ParseCert(std::string_view pem, std::string_view what);
StatusOr<Key> ParseKey(std::string_view pem, std::string_view what);
StatusOr<std::string> CertToPem(X509* cert);
StatusOr<std::string> KeyToPem(EVP_PKEY* key);  // unencrypted PKCS#8

// The subject's common name, "" when it has none.
std::string CommonName(X509* cert);
// The subject's organizational unit (where the cluster CA writes a
// certificate's role), "" when it has none.
std::string OrganizationalUnit(X509* cert);

}  // namespace cluster::control::ossl
