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

std::string_view DTypeLongName(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "float32";
    case DType::kI32: return "int32";
    case DType::kF16: return "float16";
    case DType::kBF16: return "bfloat16";
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

void* Tensor::data() {
  return storage_ ? static_cast<unsigned char*>(storage_->data()) + offset_bytes_ : nullptr;
}

const void* Tensor::data() const {
  return storage_ ? static_cast<const unsigned char*>(storage_->data()) + offset_bytes_ : nullptr;
}

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

StatusOr<Tensor> Tensor::Rows(std::int64_t begin, std::int64_t end) const {
  if (shape_.empty() || begin < 0 || begin > end || end > shape_[0]) {
    return cluster::InvalidArgumentError("rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                                         ") are outside a tensor of shape " + ShapeToString(shape_));
  }
  Shape rows = shape_;
  rows[0] = end - begin;
  return View(begin * (shape_[0] == 0 ? 0 : num_elements() / shape_[0]), std::move(rows));
}

StatusOr<Tensor> Tensor::View(std::int64_t element_offset, Shape shape) const {
  for (std::int64_t d : shape) {
    if (d < 0) return cluster::InvalidArgumentError("view: negative dimension in shape " + ShapeToString(shape));
  }
  if (element_offset < 0 || element_offset + NumElements(shape) > num_elements()) {
    return cluster::InvalidArgumentError("view of shape " + ShapeToString(shape) + " at element " +
                                         std::to_string(element_offset) + " does not fit in a tensor of shape " +
                                         ShapeToString(shape_));
  }
  Tensor view = *this;
  view.offset_bytes_ += static_cast<std::size_t>(element_offset) * DTypeSize(dtype_);
  view.shape_ = std::move(shape);
  return view;
}

}  // namespace engine
