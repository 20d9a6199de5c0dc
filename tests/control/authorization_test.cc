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

TEST_CASE("A certificate without a role may only say hello") {
  CHECK(Authorize(HelloRequest{}, PeerRole::kNone, "h1").ok());
  const Status s = Authorize(StatusRequest{}, PeerRole::kNone, "h1");
  CHECK(s.code() == StatusCode::kPermissionDenied);
  CHECK(s.message() ==
        "'status' needs the operator's certificate; this connection presented a certificate without a role (h1; "
        "issued by an older clusterctl: run `clusterctl up` again to renew it)");
}

TEST_CASE("The operator may make every request but gang-failure") {
  for (const Request& request : std::vector<Request>{HelloRequest{}, FactsRequest{}, ProbeRequest{}, StartRequest{},
                                                     StatusRequest{}, LogsRequest{}, StopRequest{}, ShutdownRequest{}}) {
    CHECK(Authorize(request, PeerRole::kOperator, "clusterctl operator").ok());
  }
  CHECK_FALSE(Authorize(GangFailureRequest{}, PeerRole::kOperator, "clusterctl operator").ok());
}
