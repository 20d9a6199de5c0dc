#include "engine/ops/op_checks.h"

#include <string>

#include "engine/ops/host_convert.h"

namespace engine {
namespace {

using cluster::InvalidArgumentError;

std::string S(const Tensor& t) { return ShapeToString(t.shape()); }
std::string Op(std::string_view op) { return std::string(op) + ": "; }

// `t` is a non-empty tensor of `dtype` with `rank` dimensions (any rank if rank < 0).
Status Check(std::string_view op, std::string_view what, const Tensor& t, DType dtype, int rank) {
  if (t.empty()) return InvalidArgumentError(Op(op) + std::string(what) + " is empty");
  if (t.dtype() != dtype) {
    return InvalidArgumentError(Op(op) + std::string(what) + " has dtype " + std::string(DTypeName(t.dtype())) +
                                "; expected " + std::string(DTypeName(dtype)));
  }
  if (rank >= 0 && t.rank() != rank) {
    return InvalidArgumentError(Op(op) + std::string(what) + " has shape " + S(t) + "; expected " +
                                std::to_string(rank) + " dimensions");
  }
  return Status::Ok();
}

Status CheckShape(std::string_view op, std::string_view what, const Tensor& t, const Shape& want) {
  if (t.shape() != want) {
    return InvalidArgumentError(Op(op) + std::string(what) + " has shape " + S(t) + "; expected " +
                                ShapeToString(want));
  }
  return Status::Ok();
}

// The cache pair: equal shapes [blocks, block_size, kv_heads, head_dim] of T, blocks of the step's size.
Status CheckCaches(std::string_view op, const Tensor& k_cache, const Tensor& v_cache, const StepTensors& step,
                   DType t) {
  CLUSTER_RETURN_IF_ERROR(Check(op, "k_cache", k_cache, t, 4));
  CLUSTER_RETURN_IF_ERROR(Check(op, "v_cache", v_cache, t, 4));
  if (k_cache.shape() != v_cache.shape()) {
    return InvalidArgumentError(Op(op) + "k_cache " + S(k_cache) + " and v_cache " + S(v_cache) +
                                " must have equal shapes");
  }
  if (k_cache.dim(1) != step.block_size) {
    return InvalidArgumentError(Op(op) + "the cache has blocks of " + std::to_string(k_cache.dim(1)) +
                                " slots but the step says block_size " + std::to_string(step.block_size));
  }
  return Status::Ok();
}

}  // namespace

Status CheckEmbedding(const Tensor& out, const Tensor& table, const Tensor& ids, DType t) {
  CLUSTER_RETURN_IF_ERROR(Check("embedding", "table", table, t, 2));
  CLUSTER_RETURN_IF_ERROR(Check("embedding", "ids", ids, DType::kI32, 1));
  if (out.empty() || (out.dtype() != DType::kF32 && out.dtype() != t)) {
    return InvalidArgumentError("embedding: out must be an F32 or " + std::string(DTypeName(t)) + " tensor");
  }
  return CheckShape("embedding", "out", out, {ids.dim(0), table.dim(1)});
}

Status CheckRmsNorm(const Tensor& out, const Tensor& residual, const Tensor& add, const Tensor& weight, DType t) {
  CLUSTER_RETURN_IF_ERROR(Check("rms_norm", "residual", residual, DType::kF32, 2));
  CLUSTER_RETURN_IF_ERROR(Check("rms_norm", "weight", weight, t, 1));
  CLUSTER_RETURN_IF_ERROR(Check("rms_norm", "out", out, t, 2));
  if (weight.dim(0) != residual.dim(1)) {
    return InvalidArgumentError("rms_norm: residual has shape " + S(residual) + " but weight has shape " + S(weight) +
                                "; expected [" + std::to_string(residual.dim(1)) + "]");
  }
  if (!add.empty()) {
    CLUSTER_RETURN_IF_ERROR(Check("rms_norm", "add", add, t, 2));
    CLUSTER_RETURN_IF_ERROR(CheckShape("rms_norm", "add", add, residual.shape()));
  }
  return CheckShape("rms_norm", "out", out, residual.shape());
}

Status CheckLinear(const Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias, DType t) {
  CLUSTER_RETURN_IF_ERROR(Check("linear", "x", x, t, 2));
  CLUSTER_RETURN_IF_ERROR(Check("linear", "weight", weight, t, 2));
  if (weight.dim(1) != x.dim(1)) {
    return InvalidArgumentError("linear: x has shape " + S(x) + " but weight has shape " + S(weight) +
                                "; the weight is [out, in] with in = " + std::to_string(x.dim(1)));
  }
  if (!bias.empty()) {
    CLUSTER_RETURN_IF_ERROR(Check("linear", "bias", bias, t, 1));
    if (bias.dim(0) != weight.dim(0)) {
      return InvalidArgumentError("linear: bias has shape " + S(bias) + " but weight has shape " + S(weight) +
                                  "; expected [" + std::to_string(weight.dim(0)) + "]");
    }
  }
  if (out.empty() || (out.dtype() != DType::kF32 && out.dtype() != t)) {
    return InvalidArgumentError("linear: out must be an F32 or " + std::string(DTypeName(t)) + " tensor");
  }
  return CheckShape("linear", "out", out, {x.dim(0), weight.dim(0)});
}

Status CheckQkvRope(const Tensor& q_out, const Tensor& k_cache, const Tensor& v_cache, const Tensor& qkv,
                    const Tensor& bias, const Tensor& inv_freq, const StepTensors& step, DType t) {
  CLUSTER_RETURN_IF_ERROR(Check("qkv_rope", "q_out", q_out, t, 3));
  CLUSTER_RETURN_IF_ERROR(Check("qkv_rope", "qkv", qkv, t, 2));
  CLUSTER_RETURN_IF_ERROR(Check("qkv_rope", "inv_freq", inv_freq, DType::kF32, 1));
  CLUSTER_RETURN_IF_ERROR(CheckCaches("qkv_rope", k_cache, v_cache, step, t));
  const std::int64_t n = q_out.dim(0), heads = q_out.dim(1), h = q_out.dim(2), kv_heads = k_cache.dim(2);
  if (k_cache.dim(3) != h || h % 2 != 0 || inv_freq.dim(0) * 2 != h) {
    return InvalidArgumentError("qkv_rope: q_out has shape " + S(q_out) + ", the cache " + S(k_cache) +
                                " and inv_freq " + S(inv_freq) +
                                "; expected one even head_dim and head_dim / 2 frequencies");
  }
  const std::int64_t width = (heads + 2 * kv_heads) * h;
  CLUSTER_RETURN_IF_ERROR(CheckShape("qkv_rope", "qkv", qkv, {n, width}));
  if (!bias.empty()) {
    CLUSTER_RETURN_IF_ERROR(Check("qkv_rope", "bias", bias, t, 1));
    CLUSTER_RETURN_IF_ERROR(CheckShape("qkv_rope", "bias", bias, {width}));
  }
  if (step.num_tokens != n) {
    return InvalidArgumentError("qkv_rope: q_out has shape " + S(q_out) + " but the step has " +
                                std::to_string(step.num_tokens) + " tokens");
  }
  return Status::Ok();
}

Status CheckPagedAttention(const Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                           const StepTensors& step, DType t) {
  CLUSTER_RETURN_IF_ERROR(Check("paged_attention", "q", q, t, 3));
  CLUSTER_RETURN_IF_ERROR(Check("paged_attention", "out", out, t, 3));
  CLUSTER_RETURN_IF_ERROR(CheckCaches("paged_attention", k_cache, v_cache, step, t));
  const std::int64_t heads = q.dim(1), kv_heads = k_cache.dim(2), head_dim = q.dim(2);
  if (k_cache.dim(3) != head_dim || kv_heads == 0 || heads % kv_heads != 0) {
    return InvalidArgumentError("paged_attention: q has shape " + S(q) + " but the cache has shape " + S(k_cache) +
                                "; need the same head_dim and heads a multiple of kv_heads");
  }
  if (step.num_tokens != q.dim(0)) {
    return InvalidArgumentError("paged_attention: q has shape " + S(q) + " but the step has " +
                                std::to_string(step.num_tokens) + " tokens");
  }
  return CheckShape("paged_attention", "out", out, q.shape());
}

Status CheckSiluMul(const Tensor& out, const Tensor& gate_up, DType t) {
  CLUSTER_RETURN_IF_ERROR(Check("silu_mul", "gate_up", gate_up, t, 2));
  CLUSTER_RETURN_IF_ERROR(Check("silu_mul", "out", out, t, 2));
  if (gate_up.dim(1) % 2 != 0) {
    return InvalidArgumentError("silu_mul: gate_up has shape " + S(gate_up) +
                                "; expected [n, 2F] (gate columns, then up columns)");
  }
  return CheckShape("silu_mul", "out", out, {gate_up.dim(0), gate_up.dim(1) / 2});
}

Status CheckGatherRows(const Tensor& out, const Tensor& x, const Tensor& rows, DType t) {
  CLUSTER_RETURN_IF_ERROR(Check("gather_rows", "x", x, t, 2));
  CLUSTER_RETURN_IF_ERROR(Check("gather_rows", "rows", rows, DType::kI32, 1));
  CLUSTER_RETURN_IF_ERROR(Check("gather_rows", "out", out, t, 2));
  return CheckShape("gather_rows", "out", out, {rows.dim(0), x.dim(1)});
}

Status CheckArgMax(const Tensor& ids, const Tensor& values, const Tensor& logits) {
  CLUSTER_RETURN_IF_ERROR(Check("argmax", "logits", logits, DType::kF32, 2));
  CLUSTER_RETURN_IF_ERROR(Check("argmax", "ids", ids, DType::kI32, 1));
  if (logits.dim(1) == 0) return InvalidArgumentError("argmax: logits have no columns");
  if (!values.empty()) {
    CLUSTER_RETURN_IF_ERROR(Check("argmax", "values", values, DType::kF32, 1));
    CLUSTER_RETURN_IF_ERROR(CheckShape("argmax", "values", values, {logits.dim(0)}));
  }
  return CheckShape("argmax", "ids", ids, {logits.dim(0)});
}

Status CheckCopyFromHost(const Tensor& dst, const HostMatrix& src) {
  if (dst.empty()) return InvalidArgumentError("copy from host: the destination is empty");
  if (src.rows < 0 || src.cols < 0 || src.row_stride < src.cols) {
    return InvalidArgumentError("copy from host: a source of " + std::to_string(src.rows) + " rows of " +
                                std::to_string(src.cols) + " elements, " + std::to_string(src.row_stride) +
                                " apart, is not a valid matrix");
  }
  if (src.num_elements() != dst.num_elements()) {
    return InvalidArgumentError("copy from host: " + std::to_string(src.num_elements()) +
                                " values for a tensor of shape " + S(dst) + " (" +
                                std::to_string(dst.num_elements()) + " elements)");
  }
  if (!CanConvert(src.dtype, dst.dtype())) {
    return InvalidArgumentError("copy from host: cannot convert " + std::string(DTypeName(src.dtype)) + " to " +
                                std::string(DTypeName(dst.dtype())));
  }
  return Status::Ok();
}

}  // namespace engine
