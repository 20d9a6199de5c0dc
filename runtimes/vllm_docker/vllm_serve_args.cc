// ReadVllmServeMemoryArgs (vllm_serve_args.h).
#include "runtimes/vllm_docker/vllm_serve_args.h"

#include <charconv>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

namespace cluster::inventory {
namespace {

constexpr std::string_view kNotModeled[] = {"--cpu-offload-gb", "--num-gpu-blocks-override", "--kv-cache-memory",
                                            "--kv-cache-memory-bytes", "--speculative-config"};

std::optional<long long> WholeNumber(std::string_view text) {
  long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

std::optional<double> Fraction(std::string_view text) {
  double x = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(x)) return std::nullopt;
  return x;
}

}  // namespace

StatusOr<VllmServeMemoryArgs> ReadVllmServeMemoryArgs(const std::vector<std::string>& args, VllmArgError* error) {
  VllmServeMemoryArgs out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (!word.starts_with("-")) continue;
    const std::size_t eq = word.find('=');
    const std::string flag = word.substr(0, eq);
    const bool known = flag == "--max-model-len" || flag == "--gpu-memory-utilization" ||
                       flag == "--kv-cache-dtype" || flag == "--max-num-seqs" || flag == "--quantization" ||
                       flag == "-q";
    bool not_modeled = false;
    for (std::string_view f : kNotModeled) not_modeled = not_modeled || flag == f;
    if (!known && !not_modeled) continue;

    auto fail = [&](std::size_t index, std::string message) -> Status {
      if (error) *error = VllmArgError{index, message};
      return InvalidArgumentError(std::move(message));
    };
    std::string value;
    const std::size_t at = i;  // the flag's index
    if (eq != std::string::npos) {
      value = word.substr(eq + 1);
    } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
      value = args[++i];
    } else {
      return fail(at, fmt::format("{} needs a value", flag));
    }
    auto bad = [&](std::string_view expected) {
      return fail(at, fmt::format("{} needs {}, found \"{}\"", flag, expected, value));
    };

    if (not_modeled) {
      out.not_modeled.push_back(flag);
    } else if (flag == "--max-model-len") {
      const auto n = WholeNumber(value);
      if (!n || *n < 1 || *n > 1LL << 30) return bad("a whole number of tokens >= 1");
      out.max_model_len = static_cast<int>(*n);
    } else if (flag == "--gpu-memory-utilization") {
      const auto x = Fraction(value);
      if (!x || *x <= 0 || *x > 1) return bad("a fraction greater than 0 and at most 1 (0.9 for 90%)");
      out.gpu_memory_utilization = *x;
    } else if (flag == "--kv-cache-dtype") {
      if (value != "auto" && value != "fp8" && value != "fp8_e4m3" && value != "fp8_e5m2")
        return bad("auto, fp8, fp8_e4m3 or fp8_e5m2");
      out.kv_cache_dtype = value;
    } else if (flag == "--max-num-seqs") {
      const auto n = WholeNumber(value);
      if (!n || *n < 1 || *n > 1LL << 30) return bad("a whole number of sequences >= 1");
      out.max_num_seqs = static_cast<int>(*n);
    } else {  // --quantization, -q
      if (value.empty()) return bad("a quantization method such as fp8");
      out.quantization = value;
    }
  }
  if (out.quantization && !out.fp8_weights()) out.not_modeled.push_back("--quantization " + *out.quantization);
  return out;
}

}  // namespace cluster::inventory
