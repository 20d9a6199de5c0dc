// CpuBackend: argument checks, allocation, and dispatch to the kernels.
// Every check names the op and the shapes so a model bug reads as
// "rms_norm: x has shape [3, 8] but weight has shape [4]; expected [8]".
#include "engine/backends/cpu/cpu_backend.h"

#include <cstring>
#include <new>
#include <string>

#include "engine/backends/cpu/kernels.h"

namespace engine {
namespace {

using cluster::InvalidArgumentError;

// Host memory, 64-byte aligned (a cache line; what AVX-512 loads like).
class HostStorage final : public TensorStorage {
 public:
  explicit HostStorage(std::size_t bytes) : bytes_(bytes) {
    data_ = ::operator new(bytes == 0 ? 1 : bytes, std::align_val_t{64});
  }
  ~HostStorage() override { ::operator delete(data_, std::align_val_t{64}); }
  HostStorage(const HostStorage&) = delete;
  HostStorage& operator=(const HostStorage&) = delete;
  void* data() override { return data_; }
  std::size_t num_bytes() const override { return bytes_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// An uninitialised F32 tensor; kernels overwrite every element.
Tensor NewTensor(const Shape& shape) {
  const std::size_t bytes = static_cast<std::size_t>(NumElements(shape)) * sizeof(float);
  return Tensor(std::make_shared<HostStorage>(bytes), shape, DType::kF32);
}

const float* F(const Tensor& t) { return static_cast<const float*>(t.data()); }
float* F(Tensor& t) { return static_cast<float*>(t.data()); }

std::string S(const Tensor& t) { return ShapeToString(t.shape()); }

// Every CpuBackend tensor is a non-empty F32 tensor of a known rank.
Status CheckF32(std::string_view op, std::string_view what, const Tensor& t, int rank) {
  if (t.empty()) return InvalidArgumentError(std::string(op) + ": " + std::string(what) + " is empty");
  if (t.dtype() != DType::kF32) {
    return InvalidArgumentError(std::string(op) + ": " + std::string(what) + " has dtype " +
                                std::string(DTypeName(t.dtype())) + "; the CPU backend computes in F32");
  }
  if (rank >= 0 && t.rank() != rank) {
    return InvalidArgumentError(std::string(op) + ": " + std::string(what) + " has shape " + S(t) + "; expected " +
                                std::to_string(rank) + " dimensions");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Tensor> CpuBackend::Allocate(const Shape& shape) {
  for (std::int64_t d : shape) {
    if (d < 0) return InvalidArgumentError("allocate: negative dimension in shape " + ShapeToString(shape));
  }
  Tensor t = NewTensor(shape);
  std::memset(t.data(), 0, t.num_bytes());
  return t;
}

StatusOr<Tensor> CpuBackend::Upload(std::span<const float> values, const Shape& shape) {
  if (static_cast<std::int64_t>(values.size()) != NumElements(shape)) {
    return InvalidArgumentError("upload: " + std::to_string(values.size()) + " values for shape " +
                                ShapeToString(shape) + " (" + std::to_string(NumElements(shape)) + " elements)");
  }
  Tensor t = NewTensor(shape);
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size_bytes());
  return t;
}

StatusOr<std::vector<float>> CpuBackend::Download(const Tensor& tensor) {
  CLUSTER_RETURN_IF_ERROR(CheckF32("download", "tensor", tensor, -1));
  std::vector<float> out(static_cast<std::size_t>(tensor.num_elements()));
  if (!out.empty()) std::memcpy(out.data(), tensor.data(), tensor.num_bytes());
  return out;
}

StatusOr<Tensor> CpuBackend::Linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  CLUSTER_RETURN_IF_ERROR(CheckF32("linear", "x", x, 2));
  CLUSTER_RETURN_IF_ERROR(CheckF32("linear", "weight", weight, 2));
  if (weight.dim(1) != x.dim(1)) {
    return InvalidArgumentError("linear: x has shape " + S(x) + " but weight has shape " + S(weight) +
                                "; the weight is [out, in] with in = " + std::to_string(x.dim(1)));
  }
  if (!bias.empty()) {
    CLUSTER_RETURN_IF_ERROR(CheckF32("linear", "bias", bias, 1));
    if (bias.dim(0) != weight.dim(0)) {
      return InvalidArgumentError("linear: bias has shape " + S(bias) + " but weight has shape " + S(weight) +
                                  "; expected [" + std::to_string(weight.dim(0)) + "]");
    }
  }
  Tensor out = NewTensor({x.dim(0), weight.dim(0)});
  cpu::linear_forward(F(out), F(x), F(weight), bias.empty() ? nullptr : F(bias), x.dim(0), x.dim(1),
                      weight.dim(0));
  return out;
}

StatusOr<Tensor> CpuBackend::RmsNorm(const Tensor& x, const Tensor& weight, float eps) {
  CLUSTER_RETURN_IF_ERROR(CheckF32("rms_norm", "x", x, 2));
  CLUSTER_RETURN_IF_ERROR(CheckF32("rms_norm", "weight", weight, 1));
  if (weight.dim(0) != x.dim(1)) {
    return InvalidArgumentError("rms_norm: x has shape " + S(x) + " but weight has shape " + S(weight) +
                                "; expected [" + std::to_string(x.dim(1)) + "]");
  }
  Tensor out = NewTensor(x.shape());
  cpu::rmsnorm_forward(F(out), F(x), F(weight), x.dim(0), x.dim(1), eps);
  return out;
}

Status CpuBackend::Rope(Tensor& x, std::span<const std::int32_t> positions, const Tensor& inv_freq) {
  CLUSTER_RETURN_IF_ERROR(CheckF32("rope", "x", x, 3));
  CLUSTER_RETURN_IF_ERROR(CheckF32("rope", "inv_freq", inv_freq, 1));
  if (x.dim(2) % 2 != 0 || inv_freq.dim(0) * 2 != x.dim(2)) {
    return InvalidArgumentError("rope: x has shape " + S(x) + " and inv_freq has shape " + S(inv_freq) +
                                "; expected an even head_dim and head_dim / 2 frequencies");
  }
  if (static_cast<std::int64_t>(positions.size()) != x.dim(0)) {
    return InvalidArgumentError("rope: " + std::to_string(positions.size()) + " positions for x of shape " + S(x) +
                                "; need one per token");
  }
  cpu::rope_forward(F(x), positions.data(), F(inv_freq), x.dim(0), x.dim(1), x.dim(2));
  return Status::Ok();
}

StatusOr<Tensor> CpuBackend::SiluMul(const Tensor& gate, const Tensor& up) {
  CLUSTER_RETURN_IF_ERROR(CheckF32("silu_mul", "gate", gate, -1));
  CLUSTER_RETURN_IF_ERROR(CheckF32("silu_mul", "up", up, -1));
  if (gate.shape() != up.shape()) {
    return InvalidArgumentError("silu_mul: gate has shape " + S(gate) + " but up has shape " + S(up));
  }
  Tensor out = NewTensor(gate.shape());
  cpu::silu_mul_forward(F(out), F(gate), F(up), gate.num_elements());
  return out;
}

StatusOr<Tensor> CpuBackend::Add(const Tensor& a, const Tensor& b) {
  CLUSTER_RETURN_IF_ERROR(CheckF32("add", "a", a, -1));
  CLUSTER_RETURN_IF_ERROR(CheckF32("add", "b", b, -1));
  if (a.shape() != b.shape()) {
    return InvalidArgumentError("add: a has shape " + S(a) + " but b has shape " + S(b));
  }
  Tensor out = NewTensor(a.shape());
  cpu::add_forward(F(out), F(a), F(b), a.num_elements());
  return out;
}

StatusOr<Tensor> CpuBackend::Embedding(const Tensor& table, std::span<const std::int32_t> ids) {
  CLUSTER_RETURN_IF_ERROR(CheckF32("embedding", "table", table, 2));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= table.dim(0)) {
      return InvalidArgumentError("embedding: token id " + std::to_string(ids[i]) + " at index " +
                                  std::to_string(i) + " is outside the vocabulary [0, " +
                                  std::to_string(table.dim(0)) + ")");
    }
  }
  const auto n = static_cast<std::int64_t>(ids.size());
  Tensor out = NewTensor({n, table.dim(1)});
  cpu::gather_rows_forward(F(out), F(table), ids.data(), n, table.dim(1));
  return out;
}

StatusOr<Tensor> CpuBackend::GatherRows(const Tensor& x, std::span<const std::int32_t> rows) {
  CLUSTER_RETURN_IF_ERROR(CheckF32("gather_rows", "x", x, 2));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= x.dim(0)) {
      return InvalidArgumentError("gather_rows: row " + std::to_string(rows[i]) + " is outside x of shape " + S(x));
    }
  }
  const auto n = static_cast<std::int64_t>(rows.size());
  Tensor out = NewTensor({n, x.dim(1)});
  cpu::gather_rows_forward(F(out), F(x), rows.data(), n, x.dim(1));
  return out;
}

Status CpuBackend::WriteKv(const Tensor& k, const Tensor& v, std::span<const std::int64_t> slots, Tensor& k_cache,
                           Tensor& v_cache) {
  CLUSTER_RETURN_IF_ERROR(CheckF32("write_kv", "k", k, 3));
  CLUSTER_RETURN_IF_ERROR(CheckF32("write_kv", "v", v, 3));
  CLUSTER_RETURN_IF_ERROR(CheckF32("write_kv", "k_cache", k_cache, 4));
  CLUSTER_RETURN_IF_ERROR(CheckF32("write_kv", "v_cache", v_cache, 4));
  if (k.shape() != v.shape() || k_cache.shape() != v_cache.shape()) {
    return InvalidArgumentError("write_kv: k " + S(k) + " and v " + S(v) + " (and k_cache " + S(k_cache) +
                                " and v_cache " + S(v_cache) + ") must have equal shapes");
  }
  if (k.dim(1) != k_cache.dim(2) || k.dim(2) != k_cache.dim(3)) {
    return InvalidArgumentError("write_kv: k has shape " + S(k) + " but the cache has shape " + S(k_cache) +
                                "; expected [n, " + std::to_string(k_cache.dim(2)) + ", " +
                                std::to_string(k_cache.dim(3)) + "]");
  }
  if (static_cast<std::int64_t>(slots.size()) != k.dim(0)) {
    return InvalidArgumentError("write_kv: " + std::to_string(slots.size()) + " slots for k of shape " + S(k) +
                                "; need one per token");
  }
  const std::int64_t num_slots = k_cache.dim(0) * k_cache.dim(1);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (slots[i] < 0 || slots[i] >= num_slots) {
      return InvalidArgumentError("write_kv: slot " + std::to_string(slots[i]) + " is outside the cache of " +
                                  std::to_string(num_slots) + " slots");
    }
  }
  const std::int64_t row = k.dim(1) * k.dim(2);
  cpu::kv_write_forward(F(k_cache), F(k), slots.data(), k.dim(0), row);
  cpu::kv_write_forward(F(v_cache), F(v), slots.data(), v.dim(0), row);
  return Status::Ok();
}

StatusOr<Tensor> CpuBackend::PagedAttention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                            const AttentionBatch& batch, float scale) {
  CLUSTER_RETURN_IF_ERROR(CheckF32("paged_attention", "q", q, 3));
  CLUSTER_RETURN_IF_ERROR(CheckF32("paged_attention", "k_cache", k_cache, 4));
  CLUSTER_RETURN_IF_ERROR(CheckF32("paged_attention", "v_cache", v_cache, 4));
  if (k_cache.shape() != v_cache.shape()) {
    return InvalidArgumentError("paged_attention: k_cache " + S(k_cache) + " and v_cache " + S(v_cache) +
                                " must have equal shapes");
  }
  const std::int64_t heads = q.dim(1), kv_heads = k_cache.dim(2), head_dim = q.dim(2);
  if (k_cache.dim(3) != head_dim || kv_heads == 0 || heads % kv_heads != 0) {
    return InvalidArgumentError("paged_attention: q has shape " + S(q) + " but the cache has shape " +
                                S(k_cache) + "; need the same head_dim and heads a multiple of kv_heads");
  }
  if (k_cache.dim(1) != batch.block_size) {
    return InvalidArgumentError("paged_attention: the cache has blocks of " + std::to_string(k_cache.dim(1)) +
                                " slots but the batch says block_size " + std::to_string(batch.block_size));
  }
  if (batch.num_tokens() != q.dim(0)) {
    return InvalidArgumentError("paged_attention: q has shape " + S(q) + " but the batch has " +
                                std::to_string(batch.num_tokens()) + " tokens");
  }
  CLUSTER_RETURN_IF_ERROR(ValidateAttentionBatch(batch, k_cache.dim(0)));

  std::vector<const std::int32_t*> tables(batch.block_tables.size());
  for (std::size_t s = 0; s < tables.size(); ++s) tables[s] = batch.block_tables[s].data();
  Tensor out = NewTensor(q.shape());
  cpu::PagedAttentionArgs args;
  args.q = F(q);
  args.k_cache = F(k_cache);
  args.v_cache = F(v_cache);
  args.out = F(out);
  args.n = q.dim(0);
  args.heads = heads;
  args.kv_heads = kv_heads;
  args.head_dim = head_dim;
  args.scale = scale;
  args.block_size = batch.block_size;
  args.token_seq = batch.token_seq.data();
  args.positions = batch.positions.data();
  args.block_tables = tables.data();
  cpu::paged_attention_forward(args);
  return out;
}

}  // namespace engine
