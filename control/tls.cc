#include "control/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include "control/openssl_util.h"

namespace cluster::control::tls {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

Status Check(const boost::system::error_code& ec, const std::string& what) {
  if (!ec) return Status::Ok();
  return InvalidArgumentError("cannot use " + what + ": " + Describe(ec, nullptr));
}

}  // namespace

StatusOr<std::unique_ptr<ssl::context>> MakeContext(const Credentials& credentials, Role role) {
  try {
    auto context = std::make_unique<ssl::context>(role == Role::kServer ? ssl::context::tls_server
                                                                        : ssl::context::tls_client);
    SSL_CTX* native = context->native_handle();
    if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
      return InternalError("cannot restrict TLS to version 1.3: " + ossl::DrainErrors());
    }
    // Send the certificate alone, not a chain built from the trust store:
    // every peer already holds the cluster CA.
    SSL_CTX_set_mode(native, SSL_MODE_NO_AUTO_CHAIN);
    boost::system::error_code ec;
    context->add_certificate_authority(asio::buffer(credentials.ca_pem), ec);
    CLUSTER_RETURN_IF_ERROR(Check(ec, "the cluster CA certificate"));
    if (role == Role::kServer || !credentials.cert_pem.empty()) {
      context->use_certificate_chain(asio::buffer(credentials.cert_pem), ec);
      CLUSTER_RETURN_IF_ERROR(Check(ec, "the certificate"));
      context->use_private_key(asio::buffer(credentials.key_pem), ssl::context::pem, ec);
      CLUSTER_RETURN_IF_ERROR(Check(ec, "the private key"));
      if (SSL_CTX_check_private_key(native) != 1) {
        return InvalidArgumentError("the private key does not belong to the certificate: " + ossl::DrainErrors());
      }
    }
    ssl::verify_mode mode = ssl::verify_peer;
    if (role == Role::kServer) mode |= ssl::verify_fail_if_no_peer_cert;
    context->set_verify_mode(mode, ec);
    CLUSTER_RETURN_IF_ERROR(Check(ec, "certificate verification"));
    return context;
  } catch (const std::exception& e) {  // ssl::context's constructor throws when OpenSSL fails
    return InternalError(std::string("cannot create a TLS context: ") + e.what());
  }
}

bool IsTlsError(const boost::system::error_code& ec) { return ec.category() == asio::error::get_ssl_category(); }

std::string Describe(const boost::system::error_code& ec, SSL* ssl) {
  if (ec == asio::error::connection_refused) return "connection refused";
  if (ec == asio::error::eof) return "the connection was closed by the peer";
  if (ec == asio::error::connection_reset) return "the connection was reset by the peer";
  if (ec == ssl::error::stream_truncated) return "the peer closed the TLS connection abruptly";
  std::string text;
  if (ec.category() == asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    text = reason != nullptr ? reason : ec.message();
  } else {
    text = ec.message();
    if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  if (ssl != nullptr) {
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) text += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  }
  return text;
}

std::string PeerCommonName(SSL* ssl) {
  ossl::Cert cert(SSL_get1_peer_certificate(ssl));
  return ossl::CommonName(cert.get());
}

PeerRole PeerCertificateRole(SSL* ssl) {
  ossl::Cert cert(SSL_get1_peer_certificate(ssl));
  return RoleNamed(ossl::OrganizationalUnit(cert.get()));
}

}  // namespace cluster::control::tls
