// The host-to-host hop of a chain relay (docs/push.md, "Chain relay"): a TCP
// connection between two cluster hosts, authenticated by a one-time token that
// clusterctl gave both ends over their SSH sessions.
//
// Rules: the listener binds the host's cluster address only, on a port the
// kernel picks; it accepts connections only from the expected upstream
// address; the first line must be the token (compared in constant time); the
// listener is closed as soon as one connection passed, or at the deadline, so
// nothing is left listening after the file. A connected hop is bounded in
// time too: a read that gets no byte, or a write that can send none, for
// `idle_timeout_s` fails (SO_RCVTIMEO/SO_SNDTIMEO), and TCP keepalive
// notices a peer that vanished - a stalled upstream or downstream host can
// no longer hold a receiver for ever.
#pragma once

#include <string>

#include "common/status.h"

namespace cluster::agent {

struct RelayListener {
  int fd = -1;
  int port = 0;
};

// Binds ADDRESS:0 (IPv4 or IPv6 literal) and listens.
StatusOr<RelayListener> ListenForRelay(const std::string& address);

// Waits up to `timeout_s` for one of `upstream` (comma-separated addresses:
// the cluster's hosts) to connect and present `token`;
// closes the listener either way. Returns the connected socket, whose reads
// and writes fail after `idle_timeout_s` without progress.
StatusOr<int> AcceptRelay(RelayListener& listener, const std::string& upstream, const std::string& token,
                          int timeout_s, int idle_timeout_s);

// Connects to the next host and presents the token. Returns the socket,
// bounded like AcceptRelay's.
StatusOr<int> ConnectRelay(const std::string& address, int port, const std::string& token, int timeout_s,
                           int idle_timeout_s);

}  // namespace cluster::agent
