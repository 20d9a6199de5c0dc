// CudaBackend: device discovery, memory, weight copies and op dispatch. The
// argument checks are the shared ones (engine/ops/op_checks.h); the math is
// in the kernels (kernels.h) and cuBLASLt (gemm.h).
#include "engine/backends/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "engine/backends/cuda/kernels.h"
#include "engine/ops/op_checks.h"

namespace engine {
namespace {

using cluster::FailedPreconditionError;
using cluster::InvalidArgumentError;

// "13.0" from 13000.
std::string CudaVersionText(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

// The oldest NVIDIA driver branch that runs a CUDA runtime of this major version.
std::string DriverNeededFor(int runtime_version) {
  const int major = runtime_version / 1000;
  if (major >= 13) return "580";
  if (major == 12) return "525";
  return "450";
}

std::string GiB(std::size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1u << 30));
  return text;
}

// Device memory from cudaMalloc, freed with the last Tensor handle.
class CudaStorage final : public TensorStorage {
 public:
  CudaStorage(void* data, std::size_t bytes) : data_(data), bytes_(bytes) {}
  ~CudaStorage() override { cudaFree(data_); }
  CudaStorage(const CudaStorage&) = delete;
  CudaStorage& operator=(const CudaStorage&) = delete;
  void* data() override { return data_; }
  std::size_t num_bytes() const override { return bytes_; }

 private:
  void* data_;
  std::size_t bytes_;
};

const std::int32_t* I(const Tensor& t) { return static_cast<const std::int32_t*>(t.data()); }

// An instantiated CUDA graph.
class CudaRecording final : public Recording {
 public:
  explicit CudaRecording(cudaGraphExec_t exec) : exec_(exec) {}
  ~CudaRecording() override { cudaGraphExecDestroy(exec_); }
  CudaRecording(const CudaRecording&) = delete;
  CudaRecording& operator=(const CudaRecording&) = delete;
  cudaGraphExec_t exec() const { return exec_; }

 private:
  cudaGraphExec_t exec_;
};

// Copies elements [begin, end) of `src`, seen densely row-major, to `dst`.
void Pack(unsigned char* dst, const HostMatrix& src, std::int64_t begin, std::int64_t end) {
  const std::size_t size = DTypeSize(src.dtype);
  for (std::int64_t e = begin; e < end;) {
    const std::int64_t r = e / src.cols, c = e % src.cols;
    const std::int64_t take = std::min(src.cols - c, end - e);
    std::memcpy(dst + static_cast<std::size_t>(e - begin) * size, src.row(r) + static_cast<std::size_t>(c) * size,
                static_cast<std::size_t>(take) * size);
    e += take;
  }
}

// Pack on up to kPackThreads threads, each a contiguous part. What bounds a
// weight copy is reading the source: a safetensors file mapped into memory,
// whose pages fault in (from the page cache, or the disk) as they are first
// touched; separate parts fault and copy in parallel. Below kPackParallelBytes
// (a step's inputs) one thread does it all.
constexpr unsigned int kPackThreads = 4;
constexpr std::int64_t kPackParallelBytes = 4 << 20;
void PackInParallel(unsigned char* dst, const HostMatrix& src, std::int64_t begin, std::int64_t end) {
  const auto size = static_cast<std::int64_t>(DTypeSize(src.dtype));
  const unsigned int threads = std::min(kPackThreads, std::max(1u, std::thread::hardware_concurrency()));
  if ((end - begin) * size < kPackParallelBytes || threads == 1) {
    Pack(dst, src, begin, end);
    return;
  }
  const std::int64_t per = (end - begin + threads - 1) / threads;
  std::vector<std::thread> helpers;
  std::int64_t left = end;  // the parts from here on found no thread: this one packs them
  for (unsigned int t = 1; t < threads && begin + t * per < end; ++t) {
    const std::int64_t b = begin + t * per, e = std::min(end, b + per);
    try {
      helpers.emplace_back(Pack, dst + (b - begin) * size, std::cref(src), b, e);
    } catch (const std::system_error&) {
      left = b;
      break;
    }
  }
  Pack(dst, src, begin, std::min(end, begin + per));
  if (left < end) Pack(dst + (left - begin) * size, src, left, end);
  for (std::thread& h : helpers) h.join();
}

}  // namespace

StatusOr<CudaDeviceFacts> ProbeCudaDevice(int index) {
  CudaDeviceFacts f;
  f.index = index;
  cudaRuntimeGetVersion(&f.runtime_version);
  cudaDriverGetVersion(&f.driver_version);
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorInsufficientDriver && f.driver_version == 0) {
    return FailedPreconditionError("no NVIDIA GPU found: the NVIDIA driver is not installed (no libcuda.so.1); "
                                   "install the driver and check the GPUs with nvidia-smi, or use --device cpu");
  }
  if (e == cudaErrorInsufficientDriver) {
    return FailedPreconditionError(
        "the NVIDIA driver is too old for this engine: it supports CUDA " + CudaVersionText(f.driver_version) +
        " but the engine's CUDA " + CudaVersionText(f.runtime_version) + " runtime needs driver " +
        DriverNeededFor(f.runtime_version) + " or newer; install a newer NVIDIA driver (nvidia-smi shows the one in use)");
  }
  if (e == cudaErrorNoDevice || (e == cudaSuccess && count == 0)) {
    return FailedPreconditionError("no NVIDIA GPU found (" + std::string(cudaGetErrorString(e)) +
                                   "); check the GPUs and driver with nvidia-smi, or use --device cpu");
  }
  if (e != cudaSuccess) {
    return FailedPreconditionError("cannot initialise CUDA: " + std::string(cudaGetErrorString(e)) +
                                   "; check the GPUs and driver with nvidia-smi, or use --device cpu");
  }
  if (index < 0 || index >= count) {
    return FailedPreconditionError("--device cuda:" + std::to_string(index) + ": this machine has " +
                                   std::to_string(count) + (count == 1 ? " GPU (cuda:0)" : " GPUs (cuda:0 to cuda:" +
                                                                                               std::to_string(count - 1) + ")") +
                                   " visible to this process (CUDA_VISIBLE_DEVICES restricts them)");
  }
  cudaDeviceProp props{};
  if (cudaGetDeviceProperties(&props, index) != cudaSuccess) {
    return FailedPreconditionError("cannot read the properties of GPU " + std::to_string(index));
  }
  f.name = props.name;
  f.major = props.major;
  f.minor = props.minor;
  f.total_bytes = props.totalGlobalMem;
  f.multiprocessors = props.multiProcessorCount;
  if (f.major * 10 + f.minor < 75) {
    return FailedPreconditionError("GPU " + std::to_string(index) + " (" + f.name + ") has compute capability " +
                                   std::to_string(f.major) + "." + std::to_string(f.minor) +
                                   "; the engine needs 7.5 or higher (Turing, e.g. T4, or newer)");
  }
  return f;
}

StatusOr<DType> ChooseCudaDtype(const CudaDeviceFacts& device, std::string_view requested,
                                std::string_view checkpoint_dtype) {
  const std::string capability = std::to_string(device.major) + "." + std::to_string(device.minor);
  if (requested == "float16") return DType::kF16;
  if (requested == "float32") return DType::kF32;
  if (requested == "bfloat16") {
    if (!device.has_bfloat16()) {
      return InvalidArgumentError("--dtype bfloat16: " + device.name + " (compute capability " + capability +
                                  ") has no bfloat16; use --dtype float16 (runtime.dtype: float16)");
    }
    return DType::kBF16;
  }
  if (requested != "auto") {
    return InvalidArgumentError("--dtype " + std::string(requested) + ": expected auto, float16, bfloat16 or float32");
  }
  if (checkpoint_dtype == "float32") return DType::kF32;
  if (checkpoint_dtype == "bfloat16" && device.has_bfloat16()) return DType::kBF16;
  return DType::kF16;  // float16 checkpoints, bfloat16 ones on GPUs without it, and unknown dtypes
}

StatusOr<std::unique_ptr<CudaBackend>> CudaBackend::Create(int index, std::string_view dtype,
                                                           std::string_view checkpoint_dtype, bool batch_invariant,
                                                           bool record_steps) {
  CLUSTER_ASSIGN_OR_RETURN(CudaDeviceFacts facts, ProbeCudaDevice(index));
  CLUSTER_ASSIGN_OR_RETURN(DType chosen, ChooseCudaDtype(facts, dtype, checkpoint_dtype));
  std::unique_ptr<CudaBackend> b(new CudaBackend());
  b->facts_ = facts;
  b->name_ = "cuda:" + std::to_string(index);
  b->dtype_ = chosen;
  CLUSTER_RETURN_IF_ERROR(b->Check(cudaSetDevice(index), "select the GPU"));
  CLUSTER_RETURN_IF_ERROR(b->Check(cudaStreamCreateWithFlags(&b->stream_, cudaStreamNonBlocking), "create a stream"));
  if (cublasLtCreate(&b->lt_) != CUBLAS_STATUS_SUCCESS) {
    return FailedPreconditionError(b->name_ + ": cannot initialise cuBLASLt (is libcublasLt.so.13 installed?)");
  }
  constexpr std::size_t kGemmWorkspace = 32u << 20;
  CLUSTER_RETURN_IF_ERROR(b->Check(cudaMalloc(&b->gemm_workspace_, kGemmWorkspace), "allocate the GEMM workspace"));
  b->gemm_ = std::make_unique<cuda::Gemm>(b->lt_, b->gemm_workspace_, kGemmWorkspace, batch_invariant);
  b->batch_invariant_ = batch_invariant;
  b->record_steps_ = record_steps;
  for (int i = 0; i < 2; ++i) {
    CLUSTER_RETURN_IF_ERROR(b->Check(cudaMallocHost(&b->staging_[i], kStagingBytes), "allocate pinned staging"));
    CLUSTER_RETURN_IF_ERROR(b->Check(cudaMalloc(&b->landing_[i], kStagingBytes), "allocate the copy buffers"));
    CLUSTER_RETURN_IF_ERROR(b->Check(cudaEventCreateWithFlags(&b->staged_[i], cudaEventDisableTiming), "create events"));
  }
  CLUSTER_RETURN_IF_ERROR(b->Check(cudaMalloc(&b->out_of_range_, sizeof(unsigned long long)), "allocate counters"));
  CLUSTER_RETURN_IF_ERROR(b->Check(cudaMalloc(&b->largest_bits_, sizeof(unsigned int)), "allocate counters"));
  return b;
}

CudaBackend::~CudaBackend() {
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  gemm_.reset();
  for (int i = 0; i < 2; ++i) {
    if (staged_[i] != nullptr) cudaEventDestroy(staged_[i]);
    if (landing_[i] != nullptr) cudaFree(landing_[i]);
    if (staging_[i] != nullptr) cudaFreeHost(staging_[i]);
  }
  if (out_of_range_ != nullptr) cudaFree(out_of_range_);
  if (largest_bits_ != nullptr) cudaFree(largest_bits_);
  if (gemm_workspace_ != nullptr) cudaFree(gemm_workspace_);
  if (lt_ != nullptr) cublasLtDestroy(lt_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

Status CudaBackend::Check(cudaError_t error, const std::string& what) const {
  if (error == cudaSuccess) return Status::Ok();
  const std::string message = name_ + ": " + what + ": " + cudaGetErrorString(error);
  if (error == cudaErrorMemoryAllocation) return cluster::ResourceExhaustedError(message);
  return cluster::InternalError(message);
}

std::string CudaBackend::Describe() const {
  return name_ + " " + facts_.name + " (compute capability " + std::to_string(facts_.major) + "." +
         std::to_string(facts_.minor) + ", " + GiB(facts_.total_bytes) + ", " + std::to_string(facts_.multiprocessors) +
         " SMs; driver CUDA " + CudaVersionText(facts_.driver_version) + ", runtime " +
         CudaVersionText(facts_.runtime_version) + ") computing in " + std::string(DTypeLongName(dtype_));
}

std::optional<DeviceMemory> CudaBackend::Memory() {
  DeviceMemory m;
  if (cudaMemGetInfo(&m.free_bytes, &m.total_bytes) != cudaSuccess) return DeviceMemory{facts_.total_bytes, 0};
  return m;
}

StatusOr<Tensor> CudaBackend::Allocate(const Shape& shape, DType dtype) {
  for (std::int64_t d : shape) {
    if (d < 0) return InvalidArgumentError("allocate: negative dimension in shape " + ShapeToString(shape));
  }
  const std::size_t bytes = static_cast<std::size_t>(NumElements(shape)) * DTypeSize(dtype);
  void* data = nullptr;
  const cudaError_t e = cudaMalloc(&data, bytes == 0 ? 1 : bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear it: an allocation failure is not sticky
    std::size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    return cluster::ResourceExhaustedError(name_ + ": out of memory allocating " + GiB(bytes) + " for a tensor of shape " +
                                           ShapeToString(shape) + " (" + GiB(free_bytes) + " free of " +
                                           GiB(total_bytes) + ")");
  }
  auto storage = std::make_shared<CudaStorage>(data, bytes);
  CLUSTER_RETURN_IF_ERROR(Check(cudaMemsetAsync(data, 0, bytes, stream_), "clear a new tensor"));
  return Tensor(std::move(storage), shape, dtype);
}

StatusOr<ConversionReport> CudaBackend::CopyFromHost(Tensor& dst, const HostMatrix& src) {
  CLUSTER_RETURN_IF_ERROR(CheckCopyFromHost(dst, src));
  ConversionReport report;
  const std::int64_t total = src.num_elements();
  if (total == 0) return report;
  const bool convert = !(src.dtype == dst.dtype() && (src.dtype == DType::kF32 || src.dtype == DType::kI32));
  const std::size_t in_size = DTypeSize(src.dtype), out_size = DTypeSize(dst.dtype());
  const auto chunk = static_cast<std::int64_t>(kStagingBytes / in_size);
  auto* out = static_cast<unsigned char*>(dst.data());
  if (convert) {
    CLUSTER_RETURN_IF_ERROR(Check(cudaMemsetAsync(out_of_range_, 0, sizeof(unsigned long long), stream_), "copy"));
    CLUSTER_RETURN_IF_ERROR(Check(cudaMemsetAsync(largest_bits_, 0, sizeof(unsigned int), stream_), "copy"));
  }
  int b = 0;
  for (std::int64_t begin = 0; begin < total; begin += chunk, b ^= 1) {
    const std::int64_t end = std::min(total, begin + chunk);
    const std::size_t bytes = static_cast<std::size_t>(end - begin) * in_size;
    // The buffer's previous transfer must be done before the host refills it.
    CLUSTER_RETURN_IF_ERROR(Check(cudaEventSynchronize(staged_[b]), "copy to the GPU"));
    PackInParallel(static_cast<unsigned char*>(staging_[b]), src, begin, end);
    unsigned char* target = out + static_cast<std::size_t>(begin) * out_size;
    if (!convert) {
      CLUSTER_RETURN_IF_ERROR(
          Check(cudaMemcpyAsync(target, staging_[b], bytes, cudaMemcpyHostToDevice, stream_), "copy to the GPU"));
    } else {
      CLUSTER_RETURN_IF_ERROR(Check(
          cudaMemcpyAsync(landing_[b], staging_[b], bytes, cudaMemcpyHostToDevice, stream_), "copy to the GPU"));
      CLUSTER_RETURN_IF_ERROR(Check(cuda::convert_forward(target, dst.dtype(), landing_[b], src.dtype, end - begin,
                                                          out_of_range_, largest_bits_, stream_),
                                    "convert " + std::string(DTypeName(src.dtype)) + " to " +
                                        std::string(DTypeName(dst.dtype()))));
    }
    CLUSTER_RETURN_IF_ERROR(Check(cudaEventRecord(staged_[b], stream_), "copy to the GPU"));
  }
  if (convert) {
    unsigned long long count = 0;
    unsigned int largest = 0;
    CLUSTER_RETURN_IF_ERROR(Check(cudaMemcpyAsync(&count, out_of_range_, sizeof count, cudaMemcpyDeviceToHost, stream_),
                                  "read the conversion report"));
    CLUSTER_RETURN_IF_ERROR(Check(cudaMemcpyAsync(&largest, largest_bits_, sizeof largest, cudaMemcpyDeviceToHost,
                                                  stream_),
                                  "read the conversion report"));
    CLUSTER_RETURN_IF_ERROR(Check(cudaStreamSynchronize(stream_), "copy to the GPU"));
    report.out_of_range = static_cast<std::int64_t>(count);
    std::memcpy(&report.largest_magnitude, &largest, sizeof largest);
  }
  return report;
}

Status CudaBackend::CopyToHost(void* dst, const Tensor& src) {
  if (src.empty()) return InvalidArgumentError("copy to host: the source is empty");
  if (src.num_bytes() > 0) {
    CLUSTER_RETURN_IF_ERROR(
        Check(cudaMemcpyAsync(dst, src.data(), src.num_bytes(), cudaMemcpyDeviceToHost, stream_), "copy to the host"));
  }
  return Check(cudaStreamSynchronize(stream_), "copy to the host");
}

Status CudaBackend::Synchronize() {
  CLUSTER_RETURN_IF_ERROR(Check(cudaStreamSynchronize(stream_), "synchronize"));
  return Check(cudaGetLastError(), "synchronize");
}

Status CudaBackend::Embedding(Tensor& out, const Tensor& table, const Tensor& ids) {
  CLUSTER_RETURN_IF_ERROR(CheckEmbedding(out, table, ids, dtype_));
  return Check(cuda::embedding_forward(out.data(), out.dtype(), table.data(), dtype_, I(ids), ids.dim(0),
                                       table.dim(1), stream_),
               "embedding");
}

Status CudaBackend::RmsNorm(Tensor& out, Tensor& residual, const Tensor& add, const Tensor& weight, float eps) {
  CLUSTER_RETURN_IF_ERROR(CheckRmsNorm(out, residual, add, weight, dtype_));
  return Check(cuda::rmsnorm_forward(out.data(), static_cast<float*>(residual.data()),
                                     add.empty() ? nullptr : add.data(), weight.data(), dtype_, residual.dim(0),
                                     residual.dim(1), eps, stream_),
               "rms_norm");
}

Status CudaBackend::Linear(Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  CLUSTER_RETURN_IF_ERROR(CheckLinear(out, x, weight, bias, dtype_));
  return gemm_->Run(out.data(), out.dtype(), x.data(), weight.data(), bias.empty() ? nullptr : bias.data(), dtype_,
                    x.dim(0), x.dim(1), weight.dim(0), stream_);
}

Status CudaBackend::QkvRope(Tensor& q_out, Tensor& k_cache, Tensor& v_cache, const Tensor& qkv, const Tensor& bias,
                            const Tensor& inv_freq, const StepTensors& step) {
  CLUSTER_RETURN_IF_ERROR(CheckQkvRope(q_out, k_cache, v_cache, qkv, bias, inv_freq, step, dtype_));
  cuda::QkvRopeArgs a;
  a.q_out = q_out.data();
  a.k_cache = k_cache.data();
  a.v_cache = v_cache.data();
  a.qkv = qkv.data();
  a.bias = bias.empty() ? nullptr : bias.data();
  a.inv_freq = static_cast<const float*>(inv_freq.data());
  a.positions = I(step.positions);
  a.slots = I(step.slots);
  a.n = q_out.dim(0);
  a.heads = q_out.dim(1);
  a.kv_heads = k_cache.dim(2);
  a.head_dim = q_out.dim(2);
  return Check(cuda::qkv_rope_forward(a, dtype_, stream_), "qkv_rope");
}

std::int64_t CudaBackend::AttentionScratchElements(const StepLimits& limits, std::int64_t heads,
                                                   std::int64_t head_dim) const {
  return cuda::paged_attention_scratch_elements(limits.max_seqs, heads, head_dim);
}

Status CudaBackend::PagedAttention(Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                   const StepTensors& step, float scale, Tensor& scratch) {
  CLUSTER_RETURN_IF_ERROR(CheckPagedAttention(out, q, k_cache, v_cache, step, dtype_));
  if (q.dim(2) > cuda::kMaxAttentionHeadDim) {
    return InvalidArgumentError("paged_attention: head_dim " + std::to_string(q.dim(2)) +
                                " is larger than the CUDA kernel's " + std::to_string(cuda::kMaxAttentionHeadDim));
  }
  cuda::PagedAttentionArgs a;
  a.q = q.data();
  a.k_cache = k_cache.data();
  a.v_cache = v_cache.data();
  a.out = out.data();
  a.n = q.dim(0);
  a.heads = q.dim(1);
  a.kv_heads = k_cache.dim(2);
  a.head_dim = q.dim(2);
  a.scale = scale;
  a.block_size = step.block_size;
  a.positions = I(step.positions);
  a.query_start = I(step.query_start);
  a.block_tables = I(step.block_tables);
  a.table_stride = step.block_tables.dim(1);
  a.num_seqs = step.num_seqs;
  a.max_query_len = step.max_query_len;
  a.max_context_len = step.max_context_len;
  a.scratch = scratch.empty() ? nullptr : static_cast<float*>(scratch.data());
  a.scratch_elements = scratch.empty() ? 0 : scratch.num_elements();
  a.num_sms = facts_.multiprocessors;
  a.may_split = !batch_invariant_;
  // FP16/BF16 on tensor cores; float32 and head dims that kernel lacks on CUDA cores.
  if (cuda::paged_attention_tensor_core_supported(a, dtype_)) {
    return Check(cuda::paged_attention_tensor_core_forward(a, dtype_, stream_), "paged_attention");
  }
  return Check(cuda::paged_attention_forward(a, dtype_, stream_), "paged_attention");
}

Status CudaBackend::SiluMul(Tensor& out, const Tensor& gate_up) {
  CLUSTER_RETURN_IF_ERROR(CheckSiluMul(out, gate_up, dtype_));
  return Check(cuda::silu_mul_forward(out.data(), gate_up.data(), dtype_, out.dim(0), out.dim(1), stream_),
               "silu_mul");
}

Status CudaBackend::GatherRows(Tensor& out, const Tensor& x, const Tensor& rows) {
  CLUSTER_RETURN_IF_ERROR(CheckGatherRows(out, x, rows, dtype_));
  return Check(cuda::gather_rows_forward(out.data(), x.data(), dtype_, I(rows), rows.dim(0), x.dim(1), stream_),
               "gather_rows");
}

Status CudaBackend::ArgMax(Tensor& ids, Tensor& values, const Tensor& logits) {
  CLUSTER_RETURN_IF_ERROR(CheckArgMax(ids, values, logits));
  return Check(cuda::argmax_forward(static_cast<std::int32_t*>(ids.data()),
                                    values.empty() ? nullptr : static_cast<float*>(values.data()),
                                    static_cast<const float*>(logits.data()), logits.dim(0), logits.dim(1), stream_),
               "argmax");
}

Status CudaBackend::BeginRecording() {
  return Check(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed), "begin recording a step");
}

StatusOr<std::unique_ptr<Recording>> CudaBackend::EndRecording() {
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream_, &graph);
  if (ended != cudaSuccess) {
    if (graph != nullptr) cudaGraphDestroy(graph);
    cudaGetLastError();  // a failed capture is not sticky
    return Check(ended, "record a step");
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t instantiated = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  CLUSTER_RETURN_IF_ERROR(Check(instantiated, "instantiate a recorded step"));
  return std::unique_ptr<Recording>(new CudaRecording(exec));
}

Status CudaBackend::Replay(const Recording& recording) {
  return Check(cudaGraphLaunch(static_cast<const CudaRecording&>(recording).exec(), stream_), "replay a recorded step");
}

}  // namespace engine
