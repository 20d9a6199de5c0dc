// CpuBackend: argument checks (engine/ops/op_checks.h), allocation, and
// dispatch to the kernels.
#include "engine/backends/cpu/cpu_backend.h"

#include <cstring>
#include <new>
#include <string>

#include "engine/backends/cpu/kernels.h"
#include "engine/ops/host_convert.h"
#include "engine/ops/op_checks.h"

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

const float* F(const Tensor& t) { return static_cast<const float*>(t.data()); }
float* F(Tensor& t) { return static_cast<float*>(t.data()); }
const std::int32_t* I(const Tensor& t) { return static_cast<const std::int32_t*>(t.data()); }
std::int32_t* I(Tensor& t) { return static_cast<std::int32_t*>(t.data()); }

constexpr DType kT = DType::kF32;

}  // namespace

StatusOr<Tensor> CpuBackend::Allocate(const Shape& shape, DType dtype) {
  for (std::int64_t d : shape) {
    if (d < 0) return InvalidArgumentError("allocate: negative dimension in shape " + ShapeToString(shape));
  }
  const std::size_t bytes = static_cast<std::size_t>(NumElements(shape)) * DTypeSize(dtype);
  Tensor t(std::make_shared<HostStorage>(bytes), shape, dtype);
  std::memset(t.data(), 0, bytes);
  return t;
}

StatusOr<ConversionReport> CpuBackend::CopyFromHost(Tensor& dst, const HostMatrix& src) {
  CLUSTER_RETURN_IF_ERROR(CheckCopyFromHost(dst, src));
  return ConvertHostMatrix(src, dst.dtype(), dst.data());
}

Status CpuBackend::CopyToHost(void* dst, const Tensor& src) {
  if (src.empty()) return InvalidArgumentError("copy to host: the source is empty");
  if (src.num_bytes() > 0) std::memcpy(dst, src.data(), src.num_bytes());
  return Status::Ok();
}

Status CpuBackend::Embedding(Tensor& out, const Tensor& table, const Tensor& ids) {
  CLUSTER_RETURN_IF_ERROR(CheckEmbedding(out, table, ids, kT));
  cpu::gather_rows_forward(F(out), F(table), I(ids), ids.dim(0), table.dim(1));
  return Status::Ok();
}

Status CpuBackend::RmsNorm(Tensor& out, Tensor& residual, const Tensor& add, const Tensor& weight, float eps) {
  CLUSTER_RETURN_IF_ERROR(CheckRmsNorm(out, residual, add, weight, kT));
  cpu::rmsnorm_forward(F(out), F(residual), add.empty() ? nullptr : F(add), F(weight), residual.dim(0),
                       residual.dim(1), eps);
  return Status::Ok();
}

Status CpuBackend::Linear(Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  CLUSTER_RETURN_IF_ERROR(CheckLinear(out, x, weight, bias, kT));
  cpu::linear_forward(F(out), F(x), F(weight), bias.empty() ? nullptr : F(bias), x.dim(0), x.dim(1),
                      weight.dim(0));
  return Status::Ok();
}

Status CpuBackend::QkvRope(Tensor& q_out, Tensor& k_cache, Tensor& v_cache, const Tensor& qkv, const Tensor& bias,
                           const Tensor& inv_freq, const StepTensors& step) {
  CLUSTER_RETURN_IF_ERROR(CheckQkvRope(q_out, k_cache, v_cache, qkv, bias, inv_freq, step, kT));
  cpu::QkvRopeArgs args;
  args.q_out = F(q_out);
  args.k_cache = F(k_cache);
  args.v_cache = F(v_cache);
  args.qkv = F(qkv);
  args.bias = bias.empty() ? nullptr : F(bias);
  args.inv_freq = F(inv_freq);
  args.positions = I(step.positions);
  args.slots = I(step.slots);
  args.n = q_out.dim(0);
  args.heads = q_out.dim(1);
  args.kv_heads = k_cache.dim(2);
  args.head_dim = q_out.dim(2);
  cpu::qkv_rope_forward(args);
  return Status::Ok();
}

Status CpuBackend::PagedAttention(Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                  const StepTensors& step, float scale, Tensor& /*scratch*/) {
  CLUSTER_RETURN_IF_ERROR(CheckPagedAttention(out, q, k_cache, v_cache, step, kT));
  cpu::PagedAttentionArgs args;
  args.q = F(q);
  args.k_cache = F(k_cache);
  args.v_cache = F(v_cache);
  args.out = F(out);
  args.n = q.dim(0);
  args.heads = q.dim(1);
  args.kv_heads = k_cache.dim(2);
  args.head_dim = q.dim(2);
  args.scale = scale;
  args.block_size = step.block_size;
  args.token_seq = I(step.token_seq);
  args.positions = I(step.positions);
  args.block_tables = I(step.block_tables);
  args.table_stride = step.block_tables.dim(1);
  cpu::paged_attention_forward(args);
  return Status::Ok();
}

Status CpuBackend::SiluMul(Tensor& out, const Tensor& gate_up) {
  CLUSTER_RETURN_IF_ERROR(CheckSiluMul(out, gate_up, kT));
  cpu::silu_mul_forward(F(out), F(gate_up), out.dim(0), out.dim(1));
  return Status::Ok();
}

Status CpuBackend::GatherRows(Tensor& out, const Tensor& x, const Tensor& rows) {
  CLUSTER_RETURN_IF_ERROR(CheckGatherRows(out, x, rows, kT));
  // Rows come from the host-validated step; a defensive bound check is cheap here.
  for (std::int64_t r = 0; r < rows.dim(0); ++r) {
    if (I(rows)[r] < 0 || I(rows)[r] >= x.dim(0)) {
      return InvalidArgumentError("gather_rows: row " + std::to_string(I(rows)[r]) + " is outside x of shape " +
                                  ShapeToString(x.shape()));
    }
  }
  cpu::gather_rows_forward(F(out), F(x), I(rows), rows.dim(0), x.dim(1));
  return Status::Ok();
}

Status CpuBackend::ArgMax(Tensor& ids, Tensor& values, const Tensor& logits) {
  CLUSTER_RETURN_IF_ERROR(CheckArgMax(ids, values, logits));
  cpu::argmax_forward(I(ids), values.empty() ? nullptr : F(values), F(logits), logits.dim(0), logits.dim(1));
  return Status::Ok();
}

}  // namespace engine
