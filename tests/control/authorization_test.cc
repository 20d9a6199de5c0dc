// Who may ask for what (control/authorization.h), decided from the role in
// the peer's certificate (control/pki.h).
#include "control/authorization.h"

#include <catch2/catch.hpp>

#include "control_test_util.h"

using namespace cluster;
using namespace cluster::control;
using cluster::control::testing::TestCluster;

TEST_CASE("The cluster CA writes each certificate's role into it") {
  TestCluster cluster;
  CHECK(RoleOfCertificate(cluster.agent.cert_pem) == PeerRole::kAgent);
  CHECK(RoleOfCertificate(cluster.operator_credentials.cert_pem) == PeerRole::kOperator);
  CHECK(RoleOfCertificate(cluster.ca->cert_pem()) == PeerRole::kNone);
  CHECK(RoleOfCertificate("not a certificate") == PeerRole::kNone);
  CHECK(RoleNamed("operator") == PeerRole::kOperator);
  CHECK(RoleNamed("Operator") == PeerRole::kNone);
}

namespace {

// Every request but hello and gang-failure: what only the operator may ask.
const std::vector<Request> kOperatorOnly = {FactsRequest{}, ProbeRequest{}, StartRequest{},    StatusRequest{},
                                            LogsRequest{},  StopRequest{},  ShutdownRequest{}, CommCheckRequest{}};

}  // namespace

TEST_CASE("A certificate without a role may only say hello") {
  CHECK(Authorize(HelloRequest{}, PeerRole::kNone, "h1").ok());
  const Status s = Authorize(StatusRequest{}, PeerRole::kNone, "h1");
  CHECK(s.code() == StatusCode::kPermissionDenied);
  CHECK(s.message() ==
        "'status' needs the operator's certificate; this connection presented a certificate without a role (h1; "
        "issued by an older clusterctl: run `clusterctl up` again to renew it)");
  for (const Request& request : kOperatorOnly) CHECK_FALSE(Authorize(request, PeerRole::kNone, "h1").ok());
  GangFailureRequest failure;
  failure.failure.host = "h1";
  CHECK_FALSE(Authorize(failure, PeerRole::kNone, "h1").ok());
}

TEST_CASE("The operator may make every request but gang-failure") {
  CHECK(Authorize(HelloRequest{}, PeerRole::kOperator, "clusterctl operator").ok());
  for (const Request& request : kOperatorOnly) {
    INFO(RequestType(request));
    CHECK(Authorize(request, PeerRole::kOperator, "clusterctl operator").ok());
  }
  CHECK_FALSE(Authorize(GangFailureRequest{}, PeerRole::kOperator, "clusterctl operator").ok());
}

TEST_CASE("A host's agent certificate may only say hello and report its own units' failures") {
  // Root on h2 holds h2's agent key: with it, no request may read or change
  // another host's state (facts, logs and comm-check included).
  CHECK(Authorize(HelloRequest{}, PeerRole::kAgent, "h2").ok());
  GangFailureRequest own;
  own.failure.host = "h2";
  CHECK(Authorize(own, PeerRole::kAgent, "h2").ok());
  for (const Request& request : kOperatorOnly) {
    INFO(RequestType(request));
    const Status s = Authorize(request, PeerRole::kAgent, "h2");
    CHECK(s.code() == StatusCode::kPermissionDenied);
    CHECK(s.message() == std::string("'") + RequestType(request) +
                             "' needs the operator's certificate; this connection presented the agent certificate "
                             "of h2");
  }
}

TEST_CASE("Only an agent may restart a gang: the head's agent tells its peers, never the operator") {
  GangRestartRequest restart;
  restart.deployment = "d1";
  restart.generation = 1;
  CHECK(Authorize(restart, PeerRole::kAgent, "h1").ok());
  const Status s = Authorize(restart, PeerRole::kOperator, "clusterctl operator");
  CHECK(s.code() == StatusCode::kPermissionDenied);
  CHECK(s.message() ==
        "'gang-restart' needs an agent's certificate; this connection presented the operator's certificate");
  CHECK_FALSE(Authorize(restart, PeerRole::kNone, "h1").ok());
}
