// The agent's part of `check --comm` (agent/comm_check.h): which requests it
// runs, and the bench-comm command line it builds (the token stays out of argv).
#include "agent/comm_check.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace cluster;
using namespace cluster::agent;

namespace {

control::RankSpec Rank(int rank) {
  control::RankSpec r;
  r.rank = rank;
  r.world_size = 4;
  r.tensor_parallel = 2;
  r.pipeline_parallel = 2;
  r.device = "cuda";
  r.gpu = rank % 2;
  r.rendezvous = "10.0.0.11:8001";
  r.rendezvous_peers = {"10.0.0.11", "10.0.0.12"};
  r.local_address = "10.0.0.11";
  r.env = {{"INFER_ENGINE_RENDEZVOUS_TOKEN", "secret-token"}, {"NCCL_SOCKET_IFNAME", "eth1"}};
  return r;
}

control::CommCheckRequest Request() {
  control::CommCheckRequest req;
  req.ranks = {Rank(0), Rank(1)};
  return req;
}

}  // namespace

TEST_CASE("bench-comm gets the rank's world flags, the sizes and half the run to meet, never the token") {
  const std::vector<std::string> argv = BenchCommArgv(Request(), Rank(1), "/opt/cluster/infer-engine");
  CHECK(argv == std::vector<std::string>{"/opt/cluster/infer-engine", "bench-comm", "--world-size", "4", "--rank", "1",
                                         "--tensor-parallel", "2", "--pipeline-parallel", "2", "--rendezvous",
                                         "10.0.0.11:8001", "--device", "cuda", "--sizes", "64K,1M,16M",
                                         "--iterations", "10", "--join-timeout", "60", "--json", "--local-address",
                                         "10.0.0.11", "--rendezvous-allow", "10.0.0.11,10.0.0.12"});
  CHECK(std::none_of(argv.begin(), argv.end(), [](const std::string& a) { return a.find("secret") != a.npos; }));
}

TEST_CASE("A comm-check the agent will not run is refused naming what is wrong") {
  CHECK(ValidateCommCheck(Request()).ok());
  control::CommCheckRequest none = Request();
  none.ranks.clear();
  CHECK(ValidateCommCheck(none).message() == "comm-check: 0 ranks; expected 1 to 64");
  control::CommCheckRequest slow = Request();
  slow.timeout_s = 3600;
  CHECK(ValidateCommCheck(slow).message() == "comm-check: timeout_s 3600 is not in [10, 600]");
  control::CommCheckRequest many = Request();
  many.iterations = 0;
  CHECK(ValidateCommCheck(many).message() == "comm-check: iterations 0 is not in [1, 1000]");
  control::CommCheckRequest sizes = Request();
  sizes.sizes = "1M;rm -rf /";
  CHECK(ValidateCommCheck(sizes).message() == "comm-check: sizes '1M;rm -rf /' is not a list like 64K,1M,16M");
  control::CommCheckRequest alone = Request();
  alone.ranks[0].world_size = 1;
  alone.ranks[0].tensor_parallel = 1;
  alone.ranks[0].pipeline_parallel = 1;
  CHECK(ValidateCommCheck(alone).message() ==
        "comm-check: rank 0 of a world of 1 (tensor_parallel 1 x pipeline_parallel 1) is not a rank of a world of "
        "several");
  control::CommCheckRequest device = Request();
  device.ranks[1].device = "tpu";
  CHECK(ValidateCommCheck(device).message() == "comm-check: device 'tpu' is not cpu or cuda");
}

TEST_CASE("A rank whose engine cannot run reports why, and nothing waits for it") {
  control::CommCheckRequest req = Request();
  req.ranks.resize(1);
  req.timeout_s = 10;
  const control::CommCheckReply reply = RunCommCheck(req, "/nonexistent/infer-engine");
  REQUIRE(reply.ranks.size() == 1);
  CHECK(reply.ranks[0].rank == 0);
  CHECK_FALSE(reply.ranks[0].exit_code.has_value());
  CHECK(reply.ranks[0].error.find("/nonexistent/infer-engine") != std::string::npos);
}
