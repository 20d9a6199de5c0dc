// Exchange: one HTTP request's answer channel, as an endpoint sees it. The
// HTTP session implements it over a socket (http_session.h); tests record
// what is sent. It hides Beast from the endpoints.
//
// An exchange is answered exactly once: either Reply (a whole response), or
// BeginEvents, any number of SendEvent, then EndEvents. Calls after the
// answer is complete, or after the client has gone, are ignored.
//
// Threading: every call, and the disconnect handler, happen on the server's
// one I/O thread.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace engine::server {

// One request as the session read it (request_reader.h).
struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string target;         // "/v1/completions?x"
  std::string authorization;  // the Authorization header, "" when absent
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Retry-After, Allow, ...)
};

class Exchange {
 public:
  virtual ~Exchange() = default;

  // A whole response.
  virtual void Reply(HttpReply reply) = 0;
  // Starts a 200 text/event-stream response.
  virtual void BeginEvents() = 0;
  // Sends already framed bytes (sse.h) of the event stream.
  virtual void SendEvent(std::string framed) = 0;
  // Ends the event stream.
  virtual void EndEvents() = 0;

  // `handler` runs once if the client disconnects before the answer is
  // complete (the session watches the socket meanwhile). Set before
  // starting long work; the exchange drops the handler once the answer is
  // complete or the handler has run.
  virtual void OnClientGone(std::function<void()> handler) = 0;
};

}  // namespace engine::server
