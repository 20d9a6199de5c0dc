#include "engine/tensor.h"

#include <utility>

namespace engine {

std::size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF32: return 4;
    case DType::kI32: return 4;
    case DType::kF16: return 2;
    case DType::kBF16: return 2;
  }
  return 0;
}

std::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "F32";
    case DType::kI32: return "I32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
  }
  return "?";
}

std::string ShapeToString(const Shape& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::int64_t NumElements(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

Tensor::Tensor(std::shared_ptr<TensorStorage> storage, Shape shape, DType dtype)
    : storage_(std::move(storage)), shape_(std::move(shape)), dtype_(dtype) {}

std::int64_t Tensor::dim(int i) const {
  if (i < 0) i += rank();
  return shape_.at(static_cast<std::size_t>(i));
}

StatusOr<Tensor> Tensor::Reshaped(Shape shape) const {
  if (NumElements(shape) != num_elements()) {
    return cluster::InvalidArgumentError("cannot reshape a tensor of shape " + ShapeToString(shape_) +
                                         " to " + ShapeToString(shape) + ": element counts differ");
  }
  Tensor view = *this;
  view.shape_ = std::move(shape);
  return view;
}

}  // namespace engine
