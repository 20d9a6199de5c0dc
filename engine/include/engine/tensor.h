// Tensor: a shape, an element type and memory owned by a Backend.
//
// The one vocabulary type shared by ops (engine/ops), communicators
// (engine/comm) and the model. A Tensor is a cheap handle: copying it aliases
// the same memory (like a torch.Tensor), moving it transfers the handle. The
// memory lives on the backend's device (host RAM for CpuBackend, GPU memory
// for CudaBackend); only the backend that allocated a tensor may read or
// write its data. Layout is always dense row-major (the last dimension is
// contiguous), so a [n, heads, head_dim] tensor is also a valid [n, heads *
// head_dim] one (see Reshaped).
//
// Views. A tensor may start at an element offset inside its storage: Rows()
// and View() make such views without copying. That is how a fixed workspace
// is carved into per-step activations (the first n rows of a buffer sized
// for the largest step, at the same address every step, which CUDA graph
// replay needs) and how a fused weight is filled part by part.
//
// Thread safety: a Tensor is not synchronised; one thread owns it at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dtype.h"
#include "engine/status.h"

namespace engine {

// Bytes per element: 4 for kF32/kI32, 2 for kF16/kBF16.
std::size_t DTypeSize(DType dtype);
// "F32", "F16", "BF16", "I32" (the safetensors spelling).
std::string_view DTypeName(DType dtype);
// "float32", "float16", "bfloat16", "int32" (the spelling of --dtype and config.json).
std::string_view DTypeLongName(DType dtype);

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
  void* data();
  const void* data() const;

  // The same memory seen with another shape of the same element count.
  // InvalidArgument if the counts differ.
  StatusOr<Tensor> Reshaped(Shape shape) const;

  // Rows [begin, end) of dimension 0, without copying: shape [end - begin,
  // dims 1...]. InvalidArgument for a scalar or a range outside [0, dim(0)].
  StatusOr<Tensor> Rows(std::int64_t begin, std::int64_t end) const;

  // `shape` elements starting `element_offset` elements after this tensor's
  // first, without copying. InvalidArgument if they do not lie inside it.
  StatusOr<Tensor> View(std::int64_t element_offset, Shape shape) const;

  // True if both handles alias the same storage (possibly different parts of it).
  bool SharesStorageWith(const Tensor& other) const { return storage_ == other.storage_; }

 private:
  std::shared_ptr<TensorStorage> storage_;
  std::size_t offset_bytes_ = 0;  // where this view starts inside the storage
  Shape shape_;
  DType dtype_ = DType::kF32;
};

// Host memory laid out as a matrix of `rows` rows of `cols` elements of
// `dtype`; row r starts `r * row_stride` elements after `data`. A whole
// tensor is {rows = dim(0), cols = the rest, row_stride = cols}; a column
// slice of a [R, C] tensor is {R, width, row_stride = C}. This is how weights
// travel from a memory-mapped checkpoint to a backend in their stored dtype.
struct HostMatrix {
  const void* data = nullptr;
  DType dtype = DType::kF32;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;  // in elements, >= cols

  std::int64_t num_elements() const { return rows * cols; }
  // Row r's first element.
  const unsigned char* row(std::int64_t r) const {
    return static_cast<const unsigned char*>(data) + static_cast<std::size_t>(r * row_stride) * DTypeSize(dtype);
  }
};

}  // namespace engine
