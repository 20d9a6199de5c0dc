#include "agent/comm_check.h"

#include <regex>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/subprocess.h"

namespace cluster::agent {
namespace {

constexpr std::size_t kMaxRanks = 64;
constexpr std::size_t kMaxOutputBytes = 256 * 1024;
constexpr std::size_t kMaxErrorBytes = 4096;

std::string Tail(const std::string& text, std::size_t bytes) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

}  // namespace

Status ValidateCommCheck(const control::CommCheckRequest& request) {
  if (request.ranks.empty() || request.ranks.size() > kMaxRanks) {
    return InvalidArgumentError(fmt::format("comm-check: {} ranks; expected 1 to {}", request.ranks.size(), kMaxRanks));
  }
  if (request.timeout_s < 10 || request.timeout_s > 600) {
    return InvalidArgumentError(fmt::format("comm-check: timeout_s {} is not in [10, 600]", request.timeout_s));
  }
  if (request.iterations < 1 || request.iterations > 1000) {
    return InvalidArgumentError(fmt::format("comm-check: iterations {} is not in [1, 1000]", request.iterations));
  }
  static const std::regex kSizes("[0-9]{1,10}[KMG]?(,[0-9]{1,10}[KMG]?){0,15}");
  if (!std::regex_match(request.sizes, kSizes)) {
    return InvalidArgumentError("comm-check: sizes '" + request.sizes.substr(0, 64) +
                                "' is not a list like 64K,1M,16M");
  }
  for (const control::RankSpec& r : request.ranks) {
    if (r.world_size < 2 || r.rank < 0 || r.rank >= r.world_size || r.tensor_parallel < 1 || r.pipeline_parallel < 1 ||
        r.tensor_parallel * r.pipeline_parallel != r.world_size) {
      return InvalidArgumentError(fmt::format("comm-check: rank {} of a world of {} (tensor_parallel {} x "
                                              "pipeline_parallel {}) is not a rank of a world of several",
                                              r.rank, r.world_size, r.tensor_parallel, r.pipeline_parallel));
    }
    if (r.device != "cpu" && r.device != "cuda") {
      return InvalidArgumentError("comm-check: device '" + r.device + "' is not cpu or cuda");
    }
    if (r.rendezvous.empty()) return InvalidArgumentError(fmt::format("comm-check: rank {} has no rendezvous", r.rank));
  }
  return Status::Ok();
}

std::vector<std::string> BenchCommArgv(const control::CommCheckRequest& request, const control::RankSpec& r,
                                       const std::filesystem::path& engine) {
  // The rendezvous waits at most half the run for the other ranks, so a
  // missing rank is reported by name before the run's own deadline.
  const int join_timeout = std::max(5, request.timeout_s / 2);
  std::vector<std::string> argv = {engine.string(), "bench-comm",
                                   "--world-size", std::to_string(r.world_size),
                                   "--rank", std::to_string(r.rank),
                                   "--tensor-parallel", std::to_string(r.tensor_parallel),
                                   "--pipeline-parallel", std::to_string(r.pipeline_parallel),
                                   "--rendezvous", r.rendezvous,
                                   "--device", r.device,
                                   "--sizes", request.sizes,
                                   "--iterations", std::to_string(request.iterations),
                                   "--join-timeout", std::to_string(join_timeout),
                                   "--json"};
  if (!r.local_address.empty()) argv.insert(argv.end(), {"--local-address", r.local_address});
  if (!r.rendezvous_peers.empty()) {
    argv.insert(argv.end(), {"--rendezvous-allow", fmt::format("{}", fmt::join(r.rendezvous_peers, ","))});
  }
  return argv;
}

control::CommCheckReply RunCommCheck(const control::CommCheckRequest& request, const std::filesystem::path& engine) {
  control::CommCheckReply reply;
  reply.ranks.resize(request.ranks.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < request.ranks.size(); ++i) {
    threads.emplace_back([&, i] {
      const control::RankSpec& r = request.ranks[i];
      control::CommCheckRank& out = reply.ranks[i];
      out.rank = r.rank;
      std::map<std::string, std::string> env = r.env;
      if (r.gpu) env["CUDA_VISIBLE_DEVICES"] = std::to_string(*r.gpu);
      auto run = RunProcessWithin(BenchCommArgv(request, r, engine), request.timeout_s * 1000, "", env);
      if (!run.ok()) {
        out.error = run.status().message();
        return;
      }
      out.exit_code = run->exit_code;
      out.output = run->out.substr(0, kMaxOutputBytes);
      out.error = Tail(run->err, kMaxErrorBytes);
    });
  }
  for (std::thread& t : threads) t.join();
  return reply;
}

}  // namespace cluster::agent
