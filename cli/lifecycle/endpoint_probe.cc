#include "cli/lifecycle/endpoint_probe.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sstream>

#include <fmt/format.h>

namespace cluster::cli {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

StatusOr<HttpReply> HttpGet(const std::string& address, int port, const std::string& target,
                            const std::string& api_key, std::chrono::milliseconds timeout) {
  const std::string url = fmt::format("http://{}:{}{}", address, port, target);
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    asio::ip::tcp::resolver resolver(io);
    beast::error_code ec;
    auto endpoints = resolver.resolve(address, std::to_string(port), ec);
    if (ec) return UnavailableError(fmt::format("{}: {}", url, ec.message()));
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, fmt::format("{}:{}", address, port));
    if (!api_key.empty()) request.set(http::field::authorization, "Bearer " + api_key);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    stream.async_connect(endpoints, [&](const beast::error_code& e, const auto&) {
      if (e) {
        ec = e;
        return;
      }
      http::async_write(stream, request, [&](const beast::error_code& w, std::size_t) {
        if (w) {
          ec = w;
          return;
        }
        http::async_read(stream, buffer, response, [&](const beast::error_code& r, std::size_t) { ec = r; });
      });
    });
    io.run();
    if (ec) {
      const std::string why = ec == beast::error::timeout
                                  ? fmt::format("no answer within {} ms", timeout.count())
                                  : ec.message();
      return UnavailableError(fmt::format("{}: {}", url, why));
    }
    return HttpReply{static_cast<int>(response.result_int()), response.body()};
  } catch (const std::exception& e) {
    return UnavailableError(fmt::format("{}: {}", url, e.what()));
  }
}

std::map<std::string, double> ParsePrometheus(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    // NAME{LABELS} VALUE [TIMESTAMP]; label values may hold spaces, so split after '}'.
    std::size_t end = line.find('}');
    end = end == std::string::npos ? line.find(' ') : end + 1;
    if (end == std::string::npos || end >= line.size()) continue;
    try {
      samples[line.substr(0, end)] = std::stod(line.substr(end));
    } catch (const std::exception&) {
      // not a sample line
    }
  }
  return samples;
}

double SumMetric(const std::map<std::string, double>& samples, const std::string& name) {
  double sum = 0;
  for (const auto& [key, value] : samples) {
    const std::string base = key.substr(0, key.find('{'));
    if (base == name) sum += value;
  }
  return sum;
}

}  // namespace cluster::cli
