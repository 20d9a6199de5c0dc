// Tensor: a shape, an element type and memory owned by a Backend.
//
// The one vocabulary type shared by ops (engine/ops), communicators
// (engine/comm) and the model. A Tensor is a cheap handle: copying it aliases
// the same memory (like a torch.Tensor), moving it transfers the handle. The
// memory lives on the backend's device (host RAM for CpuBackend, GPU memory
// for a CUDA backend); only the backend that allocated a tensor may read or
// write its data. Layout is always dense row-major (the last dimension is
// contiguous), so a [n, heads, head_dim] tensor is also a valid [n, heads *
// head_dim] one (see Reshaped).
//
// Thread safety: a Tensor is not synchronised; one thread owns it at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace engine {

enum class DType : std::uint8_t {
  kF32,
  kF16,
  kBF16,
  kI32,
};

// Bytes per element: 4 for kF32/kI32, 2 for kF16/kBF16.
std::size_t DTypeSize(DType dtype);
// "F32", "F16", "BF16", "I32" (the safetensors spelling).
std::string_view DTypeName(DType dtype);

using Shape = std::vector<std::int64_t>;

// "[128, 64]"; "[]" for a scalar.
std::string ShapeToString(const Shape& shape);
// Product of the dimensions; 1 for a scalar.
std::int64_t NumElements(const Shape& shape);

// Memory a backend hands out. The backend subclasses it; the Tensor only
// needs the address and the size, and frees the memory when the last handle
// goes away.
class TensorStorage {
 public:
  virtual ~TensorStorage() = default;
  virtual void* data() = 0;
  virtual std::size_t num_bytes() const = 0;
};

class Tensor {
 public:
  Tensor() = default;  // empty: no storage, no shape
  // REQUIRES: storage holds at least NumElements(shape) * DTypeSize(dtype) bytes.
  Tensor(std::shared_ptr<TensorStorage> storage, Shape shape, DType dtype);

  bool empty() const { return storage_ == nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  // Dimension i; negative i counts from the end (-1 is the last).
  std::int64_t dim(int i) const;
  DType dtype() const { return dtype_; }
  std::int64_t num_elements() const { return NumElements(shape_); }
  std::size_t num_bytes() const { return static_cast<std::size_t>(num_elements()) * DTypeSize(dtype_); }

  // Device address of the first element (host address for CpuBackend).
  void* data() { return storage_ ? storage_->data() : nullptr; }
  const void* data() const { return storage_ ? storage_->data() : nullptr; }

  // The same memory seen with another shape of the same element count.
  // InvalidArgument if the counts differ.
  StatusOr<Tensor> Reshaped(Shape shape) const;

  // True if both handles alias the same memory.
  bool SharesStorageWith(const Tensor& other) const { return storage_ == other.storage_; }

 private:
  std::shared_ptr<TensorStorage> storage_;
  Shape shape_;
  DType dtype_ = DType::kF32;
};

}  // namespace engine
