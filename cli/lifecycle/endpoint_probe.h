// Asking the serving endpoint (the head's OpenAI-compatible API, of our
// engine or of vLLM) whether it serves: plain HTTP/1.1 GETs with a deadline.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "common/status.h"

namespace cluster::cli {

struct HttpReply {
  int status = 0;
  std::string body;
};

// GET http://ADDRESS:PORT/TARGET. Unavailable (naming the URL and the cause)
// when no HTTP answer came within `timeout`. `api_key` adds a Bearer header.
StatusOr<HttpReply> HttpGet(const std::string& address, int port, const std::string& target,
                            const std::string& api_key, std::chrono::milliseconds timeout);

// Counters of a Prometheus text exposition: "name{labels}" -> value, for
// the samples whose name starts with one of the engine's or vLLM's prefixes.
std::map<std::string, double> ParsePrometheus(const std::string& text);

// The sum of every sample whose metric name (before '{') equals `name`.
double SumMetric(const std::map<std::string, double>& samples, const std::string& name);

}  // namespace cluster::cli
