#include "common/status.h"

#include <catch2/catch.hpp>

using namespace cluster;

namespace {
StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd number " + std::to_string(x));
  return x / 2;
}
StatusOr<int> Quarter(int x) {
  CLUSTER_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}
Status CheckEven(int x) {
  CLUSTER_RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}
}  // namespace

TEST_CASE("A default Status is OK and prints as OK") {
  Status s;
  CHECK(s.ok());
  CHECK(s.ToString() == "OK");
}

TEST_CASE("An error Status keeps its code and message, and context is prefixed") {
  Status s = NotFoundError("cluster.yaml: no such file");
  CHECK_FALSE(s.ok());
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK(s.ToString() == "not_found: cluster.yaml: no such file");
  CHECK(s.WithContext("host gpu1").message() == "host gpu1: cluster.yaml: no such file");
  CHECK(s.WithContext("host gpu1").code() == StatusCode::kNotFound);
}

TEST_CASE("StatusOr carries a value or the error, and the macros pass errors up") {
  CHECK(*Quarter(8) == 2);
  StatusOr<int> odd = Quarter(6);  // 6 -> 3 -> odd
  REQUIRE_FALSE(odd.ok());
  CHECK(odd.status().message() == "odd number 3");
  CHECK(CheckEven(4).ok());
  CHECK(CheckEven(5).code() == StatusCode::kInvalidArgument);
}
