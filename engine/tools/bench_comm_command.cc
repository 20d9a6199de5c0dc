// infer-engine bench-comm: the collective check before serving
// (docs/parallelism.md, "Checking the links: bench-comm").
//
//   infer-engine bench-comm --world-size N --rank R --tensor-parallel T --pipeline-parallel P
//       --rendezvous ADDRESS:PORT [--rendezvous-allow IP,IP,...] [--device cpu|cuda]
//       [--sizes 64K,1M,16M] [--iterations 10] [--warmup 2] [--join-timeout 60] [--json]
//
// Every rank runs it with the world flags serve takes, the job's token in
// INFER_ENGINE_RENDEZVOUS_TOKEN and, where set, GLOO_SOCKET_IFNAME naming
// the cluster interface: the same rendezvous, groups and interface the
// engine will use. It measures, for each size:
// - all-reduce (sum of float32) within every tensor group, all groups at
//   once; time is the slowest rank's mean over the iterations; algbw =
//   bytes / time and busbw = algbw x 2(n-1)/n, as nccl-tests defines them;
// - send/recv from each rank to its peer in the next stage, one stage
//   boundary at a time; time is the receiver's mean per message.
// Rank 0 prints a table (or, with --json, one JSON document); the other
// ranks print nothing. --device cuda uses NCCL on this rank's GPU (device 0
// after CUDA_VISIBLE_DEVICES) in a build with CUDA.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/comm/world.h"
#include "engine/tools/command_support.h"
#include "engine/tools/commands.h"
#include "engine/tools/engine_setup.h"
#if CLUSTER_HAVE_NCCL
#include <cuda_runtime_api.h>
#endif

namespace engine::tools {
namespace {

struct BenchCommFlags {
  WorldFlags world;
  std::string device = "cpu";
  std::string sizes = "64K,1M,16M";
  int iterations = 10;
  int warmup = 2;
  bool json = false;
};

constexpr std::int64_t kMaxBytes = std::int64_t{1} << 32;

// "64K,1M,16M" -> bytes (K, M, G: powers of 1024); each a multiple of 4 (float32).
StatusOr<std::vector<std::int64_t>> ParseSizes(std::string_view text) {
  std::vector<std::int64_t> sizes;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    std::int64_t value = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    std::string_view unit(ptr, static_cast<std::size_t>(item.data() + item.size() - ptr));
    std::int64_t scale = unit.empty() ? 1 : unit == "K" ? 1024 : unit == "M" ? 1024 * 1024 : unit == "G" ? 1 << 30 : 0;
    if (item.empty() || ec != std::errc() || scale == 0 || value <= 0 || value > kMaxBytes / scale ||
        (value * scale) % 4 != 0) {
      return cluster::InvalidArgumentError("--sizes: \"" + std::string(item) +
                                           "\" is not a size in bytes (a multiple of 4, at most 4G; K, M and G mean "
                                           "1024, 1024^2 and 1024^3, e.g. 64K,1M,16M)");
    }
    sizes.push_back(value * scale);
    start = end + 1;
  }
  return sizes;
}

std::string SizeText(std::int64_t bytes) {
  if (bytes >= (1 << 30) && bytes % (1 << 30) == 0) return std::to_string(bytes >> 30) + " GiB";
  if (bytes >= (1 << 20) && bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " B";
}

std::string TimeText(double seconds) {
  char text[32];
  if (seconds < 1e-3) {
    std::snprintf(text, sizeof(text), "%.1f us", seconds * 1e6);
  } else if (seconds < 1) {
    std::snprintf(text, sizeof(text), "%.2f ms", seconds * 1e3);
  } else {
    std::snprintf(text, sizeof(text), "%.2f s", seconds);
  }
  return text;
}

// Where the benchmark's tensors live: host memory for Gloo, the GPU for NCCL.
class BenchDevice {
 public:
  virtual ~BenchDevice() = default;
  virtual StatusOr<Tensor> Zeros(std::int64_t bytes) = 0;
  // Waits for the work enqueued so far (a no-op on the host).
  virtual Status Sync() = 0;
};

class HostStorage final : public TensorStorage {
 public:
  explicit HostStorage(std::size_t bytes) : bytes_(bytes, 0) {}
  void* data() override { return bytes_.data(); }
  std::size_t num_bytes() const override { return bytes_.size(); }

 private:
  std::vector<unsigned char> bytes_;
};

class HostDevice final : public BenchDevice {
 public:
  StatusOr<Tensor> Zeros(std::int64_t bytes) override {
    return Tensor(std::make_shared<HostStorage>(static_cast<std::size_t>(bytes)), {bytes / 4}, DType::kF32);
  }
  Status Sync() override { return Status::Ok(); }
};

#if CLUSTER_HAVE_NCCL
Status CudaStatus(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  return cluster::UnavailableError(std::string("bench-comm: ") + what + ": " + cudaGetErrorString(e));
}

class CudaStorage final : public TensorStorage {
 public:
  CudaStorage(void* data, std::size_t bytes) : data_(data), bytes_(bytes) {}
  ~CudaStorage() override { cudaFree(data_); }
  void* data() override { return data_; }
  std::size_t num_bytes() const override { return bytes_; }

 private:
  void* data_;
  std::size_t bytes_;
};

class CudaDevice final : public BenchDevice {
 public:
  static StatusOr<std::unique_ptr<CudaDevice>> Create() {
    CLUSTER_RETURN_IF_ERROR(CudaStatus(cudaSetDevice(0), "cudaSetDevice(0)"));
    auto device = std::make_unique<CudaDevice>();
    CLUSTER_RETURN_IF_ERROR(CudaStatus(cudaStreamCreateWithFlags(&device->stream_, cudaStreamNonBlocking), "cudaStreamCreate"));
    return device;
  }
  ~CudaDevice() override {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  cudaStream_t stream() const { return stream_; }
  StatusOr<Tensor> Zeros(std::int64_t bytes) override {
    void* data = nullptr;
    CLUSTER_RETURN_IF_ERROR(CudaStatus(cudaMalloc(&data, static_cast<std::size_t>(bytes)), "cudaMalloc"));
    auto storage = std::make_shared<CudaStorage>(data, static_cast<std::size_t>(bytes));
    CLUSTER_RETURN_IF_ERROR(CudaStatus(cudaMemset(data, 0, static_cast<std::size_t>(bytes)), "cudaMemset"));
    return Tensor(std::move(storage), {bytes / 4}, DType::kF32);
  }
  // The communicator's watchdog aborts a stuck operation, so this returns.
  Status Sync() override { return CudaStatus(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

 private:
  cudaStream_t stream_ = nullptr;
};
#endif

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Mean seconds per all-reduce of `bytes` in this rank's tensor group.
StatusOr<double> TimeAllReduce(Comm& group, BenchDevice& device, std::int64_t bytes, const BenchCommFlags& f) {
  CLUSTER_ASSIGN_OR_RETURN(Tensor t, device.Zeros(bytes));
  for (int i = 0; i < f.warmup; ++i) CLUSTER_RETURN_IF_ERROR(group.AllReduceSum(t));
  CLUSTER_RETURN_IF_ERROR(group.Barrier());
  CLUSTER_RETURN_IF_ERROR(device.Sync());
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < f.iterations; ++i) CLUSTER_RETURN_IF_ERROR(group.AllReduceSum(t));
  CLUSTER_RETURN_IF_ERROR(device.Sync());
  return SecondsSince(start) / f.iterations;
}

struct Sample {
  char kind;  // 'A': all-reduce in a stage's tensor group, 'S': send/recv from -> to
  int stage_or_from;
  int to;
  std::int64_t bytes;
  double seconds;
};

std::string Encode(const std::vector<Sample>& samples) {
  std::ostringstream out;
  out.precision(17);
  for (const Sample& s : samples) out << s.kind << ' ' << s.stage_or_from << ' ' << s.to << ' ' << s.bytes << ' ' << s.seconds << '\n';
  return out.str();
}

std::vector<Sample> Decode(const std::string& text) {
  std::vector<Sample> samples;
  std::istringstream in(text);
  Sample s{};
  while (in >> s.kind >> s.stage_or_from >> s.to >> s.bytes >> s.seconds) samples.push_back(s);
  return samples;
}

// This rank's measurements.
StatusOr<std::vector<Sample>> Measure(World& world, BenchDevice& device, const std::vector<std::int64_t>& sizes,
                                      const BenchCommFlags& f) {
  std::vector<Sample> samples;
  const ParallelLayout& layout = world.layout();
  if (layout.tensor_parallel() > 1) {
    for (std::int64_t bytes : sizes) {
      CLUSTER_ASSIGN_OR_RETURN(double seconds, TimeAllReduce(world.tensor_group(), device, bytes, f));
      samples.push_back({'A', world.stage(), -1, bytes, seconds});
    }
  }
  // One stage boundary at a time, every tp rank's pair at once.
  Comm& pipeline = world.pipeline_group();
  for (int boundary = 0; boundary + 1 < layout.pipeline_parallel(); ++boundary) {
    const bool sender = world.stage() == boundary;
    const bool receiver = world.stage() == boundary + 1;
    if (sender || receiver) {
      for (std::int64_t bytes : sizes) {
        CLUSTER_ASSIGN_OR_RETURN(Tensor t, device.Zeros(bytes));
        Clock::time_point start = Clock::now();
        for (int i = 0; i < f.warmup + f.iterations; ++i) {
          if (i == f.warmup) {
            CLUSTER_RETURN_IF_ERROR(device.Sync());
            start = Clock::now();
          }
          CLUSTER_RETURN_IF_ERROR(sender ? pipeline.Send(t, boundary + 1) : pipeline.Recv(t, boundary));
        }
        CLUSTER_RETURN_IF_ERROR(device.Sync());
        const double seconds = SecondsSince(start) / f.iterations;
        if (receiver) {
          samples.push_back({'S', layout.RankAt(boundary, world.tp_rank()), world.rank(), bytes, seconds});
        }
      }
    }
    CLUSTER_RETURN_IF_ERROR(world.control().Barrier());
  }
  return samples;
}

struct Report {
  struct AllReduce {
    int stage;
    std::vector<int> ranks;
    std::int64_t bytes;
    double seconds;
    double algbw;  // GB/s
    double busbw;  // GB/s
  };
  struct SendRecv {
    int from, to, from_stage, to_stage;
    std::int64_t bytes;
    double seconds;
    double bandwidth;  // GB/s
  };
  std::vector<AllReduce> all_reduce;
  std::vector<SendRecv> send_recv;
};

Report Summarise(const ParallelLayout& layout, const std::vector<Sample>& samples) {
  Report report;
  // All-reduce: the slowest rank of each group sets its time.
  std::map<std::pair<int, std::int64_t>, double> slowest;
  std::map<std::tuple<int, int, std::int64_t>, double> pairs;
  for (const Sample& s : samples) {
    if (s.kind == 'A') {
      double& t = slowest[{s.stage_or_from, s.bytes}];
      t = std::max(t, s.seconds);
    } else {
      pairs[{s.stage_or_from, s.to, s.bytes}] = s.seconds;
    }
  }
  const double n = layout.tensor_parallel();
  for (const auto& [key, seconds] : slowest) {
    const double algbw = static_cast<double>(key.second) / seconds / 1e9;
    report.all_reduce.push_back(
        {key.first, layout.TensorGroup(key.first), key.second, seconds, algbw, algbw * 2 * (n - 1) / n});
  }
  for (const auto& [key, seconds] : pairs) {
    const auto [from, to, bytes] = key;
    report.send_recv.push_back({from, to, layout.StageOf(from), layout.StageOf(to), bytes, seconds,
                                static_cast<double>(bytes) / seconds / 1e9});
  }
  return report;
}

std::string RankListText(const std::vector<int>& ranks) {
  std::string text;
  for (int r : ranks) text += (text.empty() ? "" : ",") + std::to_string(r);
  return text;
}

void PrintTable(const Report& r, const BenchCommFlags& f, const std::string& transport) {
  std::printf("bench-comm: %d ranks (tensor_parallel %d x pipeline_parallel %d), %s, %d iterations per size\n",
              f.world.world_size, f.world.tensor_parallel, f.world.pipeline_parallel, transport.c_str(), f.iterations);
  std::printf("\nall-reduce (sum, float32) in each tensor group; busbw = algbw x 2(n-1)/n, as nccl-tests\n");
  if (r.all_reduce.empty()) {
    std::printf("  none: tensor_parallel is 1\n");
  } else {
    std::printf("  %-9s %-12s %10s %12s %12s %12s\n", "stage", "ranks", "size", "time", "algbw GB/s", "busbw GB/s");
    for (const auto& a : r.all_reduce) {
      std::printf("  %-9d %-12s %10s %12s %12.3f %12.3f\n", a.stage, RankListText(a.ranks).c_str(),
                  SizeText(a.bytes).c_str(), TimeText(a.seconds).c_str(), a.algbw, a.busbw);
    }
  }
  std::printf("\nsend/recv (float32) to the next stage\n");
  if (r.send_recv.empty()) {
    std::printf("  none: pipeline_parallel is 1\n");
  } else {
    std::printf("  %-12s %-10s %10s %12s %12s\n", "ranks", "stages", "size", "time", "GB/s");
    for (const auto& s : r.send_recv) {
      const std::string ranks = std::to_string(s.from) + " -> " + std::to_string(s.to);
      const std::string stages = std::to_string(s.from_stage) + " -> " + std::to_string(s.to_stage);
      std::printf("  %-12s %-10s %10s %12s %12.3f\n", ranks.c_str(), stages.c_str(), SizeText(s.bytes).c_str(),
                  TimeText(s.seconds).c_str(), s.bandwidth);
    }
  }
}

void PrintJson(const Report& r, const BenchCommFlags& f) {
  nlohmann::json doc = {{"world_size", f.world.world_size},
                        {"tensor_parallel", f.world.tensor_parallel},
                        {"pipeline_parallel", f.world.pipeline_parallel},
                        {"device", f.device},
                        {"iterations", f.iterations},
                        {"all_reduce", nlohmann::json::array()},
                        {"send_recv", nlohmann::json::array()}};
  for (const auto& a : r.all_reduce) {
    doc["all_reduce"].push_back({{"stage", a.stage},
                                 {"ranks", a.ranks},
                                 {"bytes", a.bytes},
                                 {"seconds", a.seconds},
                                 {"algbw_gbps", a.algbw},
                                 {"busbw_gbps", a.busbw}});
  }
  for (const auto& s : r.send_recv) {
    doc["send_recv"].push_back({{"from_rank", s.from},
                                {"to_rank", s.to},
                                {"from_stage", s.from_stage},
                                {"to_stage", s.to_stage},
                                {"bytes", s.bytes},
                                {"seconds", s.seconds},
                                {"gbps", s.bandwidth}});
  }
  std::printf("%s\n", doc.dump(2).c_str());
}

int RunBenchComm(const BenchCommFlags& f) {
  if (f.iterations < 1 || f.warmup < 0) return UsageError("bench-comm: --iterations must be >= 1 and --warmup >= 0");
  auto sizes = ParseSizes(f.sizes);
  if (!sizes.ok()) return UsageError("bench-comm: " + sizes.status().message());
  auto options = WorldOptionsFrom(f.world);
  if (!options.ok()) return UsageError("bench-comm: " + options.status().message());
  WorldOptions& o = *options;

  std::unique_ptr<BenchDevice> device;
  std::string transport;
  if (f.device == "cpu") {
    device = std::make_unique<HostDevice>();
    transport = "cpu (Gloo over TCP)";
  } else if (f.device == "cuda") {
#if CLUSTER_HAVE_NCCL
    auto cuda = CudaDevice::Create();
    if (!cuda.ok()) return Failure(cuda.status());
    o.device = CommDevice::kCuda;
    o.cuda_device = 0;
    o.cuda_stream = (*cuda)->stream();
    device = std::move(*cuda);
    transport = "cuda (NCCL)";
#else
    return UsageError("bench-comm: --device cuda needs an infer-engine built with CUDA (this one has no NCCL)");
#endif
  } else {
    return UsageError("bench-comm: --device must be cpu or cuda; got '" + f.device + "'");
  }

  auto world = World::Join(o);
  if (!world.ok()) {
    return world.status().code() == cluster::StatusCode::kInvalidArgument ? UsageError("bench-comm: " + world.status().message())
                                                                           : Failure(world.status());
  }
  auto samples = Measure(**world, *device, *sizes, f);
  if (!samples.ok()) return Failure(samples.status());

  // Everyone's measurements to rank 0, which reports.
  ControlChannel& control = (*world)->control();
  if (f.world.rank != 0) {
    if (Status s = control.Send(0, Encode(*samples)); !s.ok()) return Failure(s);
  } else {
    for (int from = 1; from < f.world.world_size; ++from) {
      auto theirs = control.Receive(from);
      if (!theirs.ok()) return Failure(theirs.status());
      const std::vector<Sample> decoded = Decode(*theirs);
      samples->insert(samples->end(), decoded.begin(), decoded.end());
    }
  }
  if (Status s = control.Barrier(); !s.ok()) return Failure(s);
  if (f.world.rank == 0) {
    const Report report = Summarise((*world)->layout(), *samples);
    if (f.json) {
      PrintJson(report, f);
    } else {
      PrintTable(report, f, transport);
    }
  }
  return kExitOk;
}

}  // namespace

Subcommand AddBenchCommCommand(CLI::App& parent) {
  auto flags = std::make_shared<BenchCommFlags>();
  BenchCommFlags& f = *flags;
  CLI::App* app = parent.add_subcommand(
      "bench-comm", "Measure all-reduce bandwidth in each tensor group and send/recv bandwidth between stages");
  const char* world = "Cluster (the flags serve takes)";
  f.world.join_timeout_s = 60;
  AddWorldFlags(app, f.world, world);
  app->add_option("--device", f.device, "cpu (Gloo) or cuda (NCCL, builds with CUDA)")->group(world)->capture_default_str();
  app->add_option("--sizes", f.sizes, "Message sizes in bytes (K, M, G: powers of 1024)")->capture_default_str();
  app->add_option("--iterations", f.iterations, "Timed operations per size")->capture_default_str();
  app->add_option("--warmup", f.warmup, "Untimed operations per size first")->capture_default_str();
  app->add_flag("--json", f.json, "Rank 0 prints one JSON document instead of the table");
  return {app, [flags] { return RunBenchComm(*flags); }};
}

}  // namespace engine::tools
