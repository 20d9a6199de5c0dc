// All-gather in a world of one, and the shape rules every Comm applies.
#include <catch2/catch.hpp>

#include "comm_test_support.h"
#include "engine/comm/local_comm.h"

using namespace engine;
using namespace engine::testing;

TEST_CASE("In a world of one, all-gather copies the input to the output") {
  LocalComm comm;
  Tensor in = HostF32({1, 2, 3, 4}, {2, 2});
  Tensor out = HostTensor({2, 2}, DType::kF32);
  REQUIRE(comm.AllGather(in, out).ok());
  CHECK(F32Values(out) == std::vector<float>{1, 2, 3, 4});
}

TEST_CASE("All-gather refuses an output that is not world_size inputs stacked along dimension 0") {
  Tensor in = HostTensor({2, 3}, DType::kF32);
  CHECK(CheckAllGatherShapes(in, HostTensor({4, 3}, DType::kF32), 2).ok());
  CHECK(CheckAllGatherShapes(in, HostTensor({2, 6}, DType::kF32), 2).message() ==
        "all-gather: the output's shape must be [4, 3] (in [2, 3] F32, out [2, 6] F32, 2 ranks)");
  CHECK(CheckAllGatherShapes(in, HostTensor({4, 3}, DType::kF16), 2).message() ==
        "all-gather: the output's dtype differs from the input's (in [2, 3] F32, out [4, 3] F16, 2 ranks)");
  CHECK(CheckAllGatherShapes(HostTensor({}, DType::kF32), HostTensor({2}, DType::kF32), 2).message() ==
        "all-gather: the input needs a dimension 0 to concatenate along (in [] F32, out [2] F32, 2 ranks)");
}

TEST_CASE("After an abort, every call of a world of one returns the abort's reason") {
  LocalComm comm;
  comm.Abort(cluster::UnavailableError("rank 3 (10.0.0.4) closed its connection"));
  comm.Abort(cluster::UnavailableError("a later reason"));
  Tensor t = HostF32({1}, {1});
  CHECK(comm.AllReduceSum(t).message() == "rank 3 (10.0.0.4) closed its connection");
  CHECK(comm.Barrier().message() == "rank 3 (10.0.0.4) closed its connection");
}
