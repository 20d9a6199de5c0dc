#include "http_test_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace engine::server::testing {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using net::ip::tcp;

struct TestConnection::Impl {
  net::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

TestConnection::TestConnection(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->stream.expires_after(std::chrono::seconds(30));
  impl_->stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
}

TestConnection::~TestConnection() { Close(); }

void TestConnection::Close() {
  beast::error_code ignored;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  impl_->stream.socket().close(ignored);
}

TestResponse TestConnection::Send(const std::string& method, const std::string& target, const std::string& body,
                                  const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(http::field::host, "127.0.0.1");
  if (!body.empty() || method == "POST") request.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  impl_->stream.expires_after(std::chrono::seconds(60));
  http::write(impl_->stream, request);
  return Read();
}

void TestConnection::Write(const std::string& bytes) {
  impl_->stream.expires_after(std::chrono::seconds(30));
  net::write(impl_->stream, net::buffer(bytes));
}

bool TestConnection::TryWrite(const std::string& bytes) {
  impl_->stream.expires_after(std::chrono::seconds(30));
  beast::error_code ec;
  net::write(impl_->stream, net::buffer(bytes), ec);
  return !ec;
}

TestResponse TestConnection::Read() {
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  impl_->stream.expires_after(std::chrono::seconds(120));
  http::read(impl_->stream, impl_->buffer, parser);
  http::response<http::string_body> response = parser.release();
  TestResponse out;
  out.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    out.headers[name] = std::string(field.value());
  }
  out.body = std::move(response.body());
  return out;
}

std::string TestConnection::ReadRaw(std::size_t at_least) {
  std::string out(impl_->buffer.size(), '\0');
  net::buffer_copy(net::buffer(out), impl_->buffer.data());
  impl_->buffer.consume(impl_->buffer.size());
  char chunk[4096];
  impl_->stream.expires_after(std::chrono::seconds(30));
  while (out.size() < at_least) {
    beast::error_code ec;
    const std::size_t n = impl_->stream.read_some(net::buffer(chunk), ec);
    out.append(chunk, n);
    if (ec) break;
  }
  return out;
}

std::string TestConnection::ReadAll() { return ReadRaw(static_cast<std::size_t>(-1)); }

TestResponse Send(std::uint16_t port, const std::string& method, const std::string& target, const std::string& body,
                  const std::map<std::string, std::string>& headers) {
  TestConnection connection(port);
  return connection.Send(method, target, body, headers);
}

}  // namespace engine::server::testing
