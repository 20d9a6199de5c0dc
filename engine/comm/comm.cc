#include "engine/comm/comm.h"

#include <string>

namespace engine {

Status CheckAllGatherShapes(const Tensor& in, const Tensor& out, int world_size) {
  const auto fail = [&](const std::string& why) {
    return cluster::InvalidArgumentError("all-gather: " + why + " (in " + ShapeToString(in.shape()) + " " +
                                         std::string(DTypeName(in.dtype())) + ", out " + ShapeToString(out.shape()) +
                                         " " + std::string(DTypeName(out.dtype())) + ", " +
                                         std::to_string(world_size) + " ranks)");
  };
  if (in.rank() == 0) return fail("the input needs a dimension 0 to concatenate along");
  if (out.dtype() != in.dtype()) return fail("the output's dtype differs from the input's");
  Shape want = in.shape();
  want[0] *= world_size;
  if (out.shape() != want) return fail("the output's shape must be " + ShapeToString(want));
  if (in.num_bytes() > 0 && in.SharesStorageWith(out)) return fail("the input and output share memory");
  return Status::Ok();
}

}  // namespace engine
