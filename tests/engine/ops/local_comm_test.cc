// The single-process Comm lives in engine/comm; its test sits with the ops
// tests (tests/engine has no comm folder).
#include "engine/comm/local_comm.h"

#include <catch2/catch.hpp>

#include "engine/backends/cpu/cpu_backend.h"
#include "support/backend_test_util.h"

using namespace engine;

TEST_CASE("In a world of one, all-reduce and broadcast leave the tensor as it is") {
  CpuBackend backend;
  LocalComm comm;
  CHECK(comm.rank() == 0);
  CHECK(comm.world_size() == 1);
  Tensor t = engine::testing::Make(backend, {1, 2, 3}, {3});
  REQUIRE(comm.AllReduceSum(t).ok());
  REQUIRE(comm.Broadcast(t, 0).ok());
  REQUIRE(comm.Barrier().ok());
  CHECK(engine::testing::Values(backend, t) == std::vector<float>{1, 2, 3});
}

TEST_CASE("In a world of one there is no peer to send to, receive from or broadcast from") {
  CpuBackend backend;
  LocalComm comm;
  Tensor t = engine::testing::Make(backend, {1}, {1});
  CHECK(comm.Send(t, 1).message() == "send: rank 1 is not a peer: this process is a world of 1");
  CHECK(comm.Recv(t, 0).message() == "recv: rank 0 is not a peer: this process is a world of 1");
  CHECK(comm.Broadcast(t, 1).message() == "broadcast: root 1 is not a rank of this world of 1 (only rank 0)");
}
