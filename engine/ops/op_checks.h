// The argument checks of every Backend op, shared by all backends so that a
// model bug reads the same on every device:
//   "rms_norm: residual has shape [3, 8] but weight has shape [4]; expected [8]"
// Each returns InvalidArgument naming the op, the argument and the shapes or
// dtypes, for the contract stated on the op in engine/ops/backend.h, where T
// is the backend's compute dtype.
#pragma once

#include "engine/ops/backend.h"

namespace engine {

Status CheckEmbedding(const Tensor& out, const Tensor& table, const Tensor& ids, DType t);
Status CheckRmsNorm(const Tensor& out, const Tensor& residual, const Tensor& add, const Tensor& weight, DType t);
Status CheckLinear(const Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias, DType t);
Status CheckQkvRope(const Tensor& q_out, const Tensor& k_cache, const Tensor& v_cache, const Tensor& qkv,
                    const Tensor& bias, const Tensor& inv_freq, const StepTensors& step, DType t);
Status CheckPagedAttention(const Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                           const StepTensors& step, DType t);
Status CheckSiluMul(const Tensor& out, const Tensor& gate_up, DType t);
Status CheckGatherRows(const Tensor& out, const Tensor& x, const Tensor& rows, DType t);
Status CheckArgMax(const Tensor& ids, const Tensor& values, const Tensor& logits);
// dst is not empty, holds src.rows * src.cols elements, and the dtypes convert.
Status CheckCopyFromHost(const Tensor& dst, const HostMatrix& src);

}  // namespace engine
