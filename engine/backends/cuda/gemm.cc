#include "engine/backends/cuda/gemm.h"

#include <string>

#include "common/logging.h"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

cudaDataType_t CudaType(DType t) {
  switch (t) {
    case DType::kF16: return CUDA_R_16F;
    case DType::kBF16: return CUDA_R_16BF;
    default: return CUDA_R_32F;
  }
}

Status LtError(cublasStatus_t status, const std::string& what) {
  return cluster::InternalError("cuBLASLt " + what + " failed: " + cublasLtGetStatusString(status));
}

}  // namespace

// Descriptors and the chosen algorithm of one (shape, dtypes, bias) call.
struct Gemm::Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};

  ~Plan() {
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

Gemm::Gemm(cublasLtHandle_t handle, void* workspace, std::size_t workspace_bytes, bool batch_invariant)
    : handle_(handle), workspace_(workspace), workspace_bytes_(workspace_bytes), batch_invariant_(batch_invariant) {}

Gemm::~Gemm() {
  for (auto& [key, plan] : plans_) delete plan;
}

StatusOr<Gemm::Plan*> Gemm::PlanFor(std::int64_t n, std::int64_t in, std::int64_t o, DType t, DType out_t,
                                    bool bias) {
  const Key key{n, in, o, static_cast<int>(t), static_cast<int>(out_t), bias};
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;

  auto plan = std::make_unique<Plan>();
  cublasStatus_t s = cublasLtMatmulDescCreate(&plan->op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
  if (s != CUBLAS_STATUS_SUCCESS) return LtError(s, "matmul descriptor");
  const cublasOperation_t transpose = CUBLAS_OP_T, none = CUBLAS_OP_N;
  cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof transpose);
  cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &none, sizeof none);
  if (bias) {
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue);
    const cudaDataType_t bias_type = CudaType(t);
    cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type);
  }
  if ((s = cublasLtMatrixLayoutCreate(&plan->a, CudaType(t), static_cast<std::uint64_t>(in),
                                      static_cast<std::uint64_t>(o), in)) != CUBLAS_STATUS_SUCCESS ||
      (s = cublasLtMatrixLayoutCreate(&plan->b, CudaType(t), static_cast<std::uint64_t>(in),
                                      static_cast<std::uint64_t>(n), in)) != CUBLAS_STATUS_SUCCESS ||
      (s = cublasLtMatrixLayoutCreate(&plan->d, CudaType(out_t), static_cast<std::uint64_t>(o),
                                      static_cast<std::uint64_t>(n), o)) != CUBLAS_STATUS_SUCCESS) {
    return LtError(s, "matrix layout");
  }

  cublasLtMatmulPreference_t preference = nullptr;
  cublasLtMatmulPreferenceCreate(&preference);
  cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes_,
                                       sizeof workspace_bytes_);
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  bool chosen = false;
  if (batch_invariant_ && n != kReferenceRows) {
    // The algorithm chosen for the reference row count, if it runs this n.
    StatusOr<Plan*> reference = PlanFor(kReferenceRows, in, o, t, out_t, bias);
    if (reference.ok()) {
      cublasLtMatmulHeuristicResult_t check{};
      if (cublasLtMatmulAlgoCheck(handle_, plan->op, plan->a, plan->b, plan->d, plan->d, &(*reference)->algo,
                                  &check) == CUBLAS_STATUS_SUCCESS &&
          check.workspaceSize <= workspace_bytes_) {
        plan->algo = (*reference)->algo;
        chosen = true;
      } else {
        LOG_WARNING("GEMM [{} x {}] . [{} x {}]^T: the batch-invariant algorithm does not run {} rows; this size "
                    "uses another, so its results may differ in the last bits from other batch sizes",
                    n, in, o, in, n);
      }
    }
  }
  if (!chosen) {
    s = cublasLtMatmulAlgoGetHeuristic(handle_, plan->op, plan->a, plan->b, plan->d, plan->d, preference, 1, &result,
                                       &found);
    if (s != CUBLAS_STATUS_SUCCESS || found == 0) {
      cublasLtMatmulPreferenceDestroy(preference);
      return s != CUBLAS_STATUS_SUCCESS ? LtError(s, "algorithm search")
                                        : cluster::InternalError("cuBLASLt found no algorithm for [" +
                                                                 std::to_string(n) + " x " + std::to_string(in) +
                                                                 "] . [" + std::to_string(o) + " x " +
                                                                 std::to_string(in) + "]^T");
    }
    plan->algo = result.algo;
    if (batch_invariant_) {  // one reduction order per output: no split-K (kept only if the algorithm accepts it)
      cublasLtMatmulAlgo_t whole = result.algo;
      const int one = 1;
      cublasLtMatmulHeuristicResult_t check{};
      if (cublasLtMatmulAlgoConfigSetAttribute(&whole, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &one, sizeof one) ==
              CUBLAS_STATUS_SUCCESS &&
          cublasLtMatmulAlgoCheck(handle_, plan->op, plan->a, plan->b, plan->d, plan->d, &whole, &check) ==
              CUBLAS_STATUS_SUCCESS &&
          check.workspaceSize <= workspace_bytes_) {
        plan->algo = whole;
      }
    }
  }
  cublasLtMatmulPreferenceDestroy(preference);
  Plan* raw = plan.release();
  plans_.emplace(key, raw);
  return raw;
}

Status Gemm::Run(void* out, DType out_t, const void* x, const void* w, const void* bias, DType t, std::int64_t n,
                 std::int64_t in, std::int64_t o, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  if (!batch_invariant_ && linear_small_batch_supported(x, w, t, n, in)) {
    const cudaError_t e = linear_small_batch_forward(out, out_t, x, w, bias, t, n, in, o, stream);
    if (e != cudaSuccess) return cluster::InternalError(std::string("linear_small_batch kernel: ") + cudaGetErrorString(e));
    return Status::Ok();
  }
  // cuBLASLt's bias epilogue takes a bias of D's type only: a T bias into a
  // float32 D is added by a kernel after the product.
  const bool epilogue_bias = bias != nullptr && out_t == t;
  CLUSTER_ASSIGN_OR_RETURN(Plan * plan, PlanFor(n, in, o, t, out_t, epilogue_bias));
  if (epilogue_bias) {
    cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
  }
  const float one = 1.0f, zero = 0.0f;
  const cublasStatus_t s = cublasLtMatmul(handle_, plan->op, &one, w, plan->a, x, plan->b, &zero, out, plan->d, out,
                                          plan->d, &plan->algo, workspace_, workspace_bytes_, stream);
  if (s != CUBLAS_STATUS_SUCCESS) return LtError(s, "matmul");
  if (bias != nullptr && !epilogue_bias) {
    const cudaError_t e = bias_add_forward(static_cast<float*>(out), bias, t, n, o, stream);
    if (e != cudaSuccess) return cluster::InternalError(std::string("bias_add kernel: ") + cudaGetErrorString(e));
  }
  return Status::Ok();
}

}  // namespace engine::cuda
