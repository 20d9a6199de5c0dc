#include "agent/gpu_facts.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdint>

#include <fmt/format.h>

#include "common/subprocess.h"

namespace cluster::agent {
namespace {

constexpr const char* kFieldNames[] = {"index",          "name", "memory.total", "memory.used", "memory.free",
                                       "compute_cap", "driver_version", "utilization.gpu"};
constexpr std::size_t kFieldCount = std::size(kFieldNames);
constexpr std::uint64_t kMiB = 1024 * 1024;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = line.find(',', start);
    fields.push_back(Trim(line.substr(start, comma == std::string_view::npos ? line.npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

template <typename T>
bool ParseNumber(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// "7.5": digits, a dot, digits.
bool IsComputeCapability(std::string_view text) {
  std::size_t dot = text.find('.');
  if (dot == 0 || dot == text.npos || dot + 1 == text.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i != dot && (text[i] < '0' || text[i] > '9')) return false;
  }
  return true;
}

std::string Shorten(std::string_view text) {
  constexpr std::size_t kMax = 80;
  return text.size() <= kMax ? std::string(text) : std::string(text.substr(0, kMax)) + "...";
}

Status FieldError(int line_number, std::string_view field, std::string_view value, std::string_view expected) {
  return InvalidArgumentError(fmt::format("nvidia-smi output line {}: {} is \"{}\", expected {}", line_number,
                                          field, Shorten(value), expected));
}

StatusOr<control::GpuFacts> ParseLine(std::string_view line, int line_number) {
  const std::vector<std::string_view> f = SplitFields(line);
  if (f.size() != kFieldCount) {
    return InvalidArgumentError(fmt::format(
        "nvidia-smi output line {}: expected {} comma-separated fields ({}), found {}: \"{}\"", line_number,
        kFieldCount, fmt::join(kFieldNames, ", "), f.size(), Shorten(line)));
  }
  control::GpuFacts gpu;
  if (!ParseNumber(f[0], gpu.index) || gpu.index < 0) return FieldError(line_number, "index", f[0], "a GPU index");
  if (f[1].empty()) return FieldError(line_number, "name", f[1], "a GPU name");
  gpu.name = std::string(f[1]);
  std::uint64_t mib[3];
  for (int i = 0; i < 3; ++i) {
    if (!ParseNumber(f[2 + i], mib[i])) return FieldError(line_number, kFieldNames[2 + i], f[2 + i], "MiB");
  }
  gpu.memory_total_bytes = mib[0] * kMiB;
  gpu.memory_used_bytes = mib[1] * kMiB;
  gpu.memory_free_bytes = mib[2] * kMiB;
  if (!IsComputeCapability(f[5])) return FieldError(line_number, "compute_cap", f[5], "MAJOR.MINOR");
  gpu.compute_capability = std::string(f[5]);
  if (f[6].empty()) return FieldError(line_number, "driver_version", f[6], "a version");
  gpu.driver_version = std::string(f[6]);
  // Some GPUs (and MIG instances) answer "[N/A]" or "[Not Supported]".
  if (!f[7].empty() && f[7].front() == '[') {
    gpu.utilization_percent = 0;
  } else if (!ParseNumber(f[7], gpu.utilization_percent)) {
    return FieldError(line_number, "utilization.gpu", f[7], "a percentage");
  }
  return gpu;
}

std::string TrimmedText(const std::string& text) {
  std::string_view t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == '\n' || t.front() == ' ')) t.remove_prefix(1);
  return std::string(t);
}

}  // namespace

StatusOr<std::vector<control::GpuFacts>> ParseNvidiaSmiCsv(std::string_view text) {
  std::vector<control::GpuFacts> gpus;
  int line_number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == text.npos) end = text.size();
    std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_number;
    if (line.empty()) continue;
    CLUSTER_ASSIGN_OR_RETURN(control::GpuFacts gpu, ParseLine(line, line_number));
    gpus.push_back(std::move(gpu));
  }
  return gpus;
}

constexpr int kNvidiaSmiTimeoutMs = 20000;

GpuReading ReadGpus(const std::string& program) {
  GpuReading reading;
  std::vector<std::string> argv = {program};
  for (const char* arg : kNvidiaSmiQuery) argv.emplace_back(arg);
  // nvidia-smi hangs when the driver or a GPU does: a bounded wait keeps
  // `check` and `status` answering.
  auto result = RunProcessWithin(argv, kNvidiaSmiTimeoutMs);
  if (!result.ok() && result.status().code() == StatusCode::kDeadlineExceeded) {
    reading.error = fmt::format("nvidia-smi did not answer within {} s: the driver or a GPU may be hung "
                                "(look for Xid errors in dmesg)", kNvidiaSmiTimeoutMs / 1000);
    return reading;
  }
  if (!result.ok()) {
    // ENOENT: no such program. Anything else (EACCES...) is worth showing as is.
    const bool absent = result.status().message().find(std::strerror(ENOENT)) != std::string::npos;
    reading.error = absent ? "nvidia-smi not found: no NVIDIA driver on this host" : result.status().message();
    return reading;
  }
  if (result->exit_code != 0) {
    std::string why = TrimmedText(result->err.empty() ? result->out : result->err);
    reading.error = why.empty() ? fmt::format("nvidia-smi exited with code {}", result->exit_code) : why;
    return reading;
  }
  auto gpus = ParseNvidiaSmiCsv(result->out);
  if (!gpus.ok()) {
    reading.error = gpus.status().message();
    return reading;
  }
  reading.gpus = std::move(*gpus);
  return reading;
}

}  // namespace cluster::agent
