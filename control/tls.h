// Internal to the control library: the TLS settings of the agent protocol,
// shared by client and server.
//
// Both sides speak TLS 1.3 only and trust exactly one CA: the cluster's (no
// system trust store). The server requires a client certificate. Certificate
// purposes are checked by OpenSSL's defaults: a server must present a
// serverAuth certificate (an agent's), a client a clientAuth one. There is no
// host name check: the CA is private to the cluster and issues only to its
// own hosts and operator.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <string>

#include "common/status.h"
#include "control/pki.h"

namespace cluster::control::tls {

enum class Role { kClient, kServer };

// A context holding `credentials`. A client may have no certificate
// (cert_pem and key_pem empty); servers refuse it, which tests rely on.
StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeContext(const Credentials& credentials, Role role);

// Words for a socket or TLS error: "connection refused", "certificate verify
// failed (unable to get local issuer certificate)". `ssl` (may be null) adds
// the certificate check's result.
std::string Describe(const boost::system::error_code& ec, SSL* ssl);

// True for errors OpenSSL reports (handshake failures, the peer's alerts),
// as opposed to the socket's or an abrupt end of the stream.
bool IsTlsError(const boost::system::error_code& ec);

// The common name of the peer's certificate; "" without one.
std::string PeerCommonName(SSL* ssl);
// The role of the peer's certificate (pki.h); kNone without one.
PeerRole PeerCertificateRole(SSL* ssl);

}  // namespace cluster::control::tls
