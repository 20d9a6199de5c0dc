// A tiny blocking HTTP/1.1 client for the server tests (Beast over a
// loopback socket), and a raw-socket helper for protocol edge cases.
// Connects to 127.0.0.1 only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace engine::server::testing {

struct TestResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;                            // de-chunked
};

// One request on a fresh connection. Throws std::runtime_error on a
// connection failure (a test failure, not a server answer).
TestResponse Send(std::uint16_t port, const std::string& method, const std::string& target,
                  const std::string& body = "", const std::map<std::string, std::string>& headers = {});

// A connection that can carry several requests (keep-alive).
class TestConnection {
 public:
  explicit TestConnection(std::uint16_t port);
  ~TestConnection();
  TestResponse Send(const std::string& method, const std::string& target, const std::string& body = "",
                    const std::map<std::string, std::string>& headers = {});
  // Writes raw bytes.
  void Write(const std::string& bytes);
  // Writes raw bytes; false when the server closed or reset the connection
  // meanwhile (it may refuse a request before reading all of it).
  bool TryWrite(const std::string& bytes);
  // Reads one response (e.g. after Write).
  TestResponse Read();
  // Reads up to `at_least` bytes (or until the peer closes), returns them raw.
  std::string ReadRaw(std::size_t at_least);
  // Reads until the peer closes (or 10 s); returns everything.
  std::string ReadAll();
  // Closes the socket at once (a client that goes away).
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace engine::server::testing
