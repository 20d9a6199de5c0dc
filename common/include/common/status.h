// Status and StatusOr<T>: the one error type that crosses module boundaries.
//
// Libraries never throw across their public API; they return Status (or
// StatusOr<T>), and callers pass failures up with `if (!s.ok()) return s;`.
// Exceptions from third-party libraries (yaml-cpp, CLI11, Boost) are caught at
// the edge that calls them and converted here.
//
// A Status message is written for the user: what happened, where, and what to
// do next. The code classifies it for exit codes and --json output.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cluster {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // bad input from the user (config, flags, request)
  kNotFound,           // a file, host, model or key that does not exist
  kAlreadyExists,
  kFailedPrecondition, // the system is not in a state that allows this
  kResourceExhausted,  // memory, disk, queue or KV cache full
  kUnavailable,        // a host, agent or endpoint cannot be reached
  kPermissionDenied,   // authentication or host-key refusal
  kDataLoss,           // truncated or corrupt file, hash mismatch
  kDeadlineExceeded,
  kCancelled,
  kUnimplemented,
  kInternal,           // a bug in this program
};

// Returns a stable lower_snake name ("invalid_argument"), used in --json output.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message". Keeps the code.
  Status WithContext(std::string_view context) const;

  // "invalid_argument: message", or "OK".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status PermissionDeniedError(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status DataLossError(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status CancelledError(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status UnimplementedError(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

namespace internal {
// Reading the value of a failed StatusOr is a bug. It must not become
// undefined behaviour in a release build: this prints
//   "fatal: StatusOr::value() on an error: CODE: MESSAGE"
// to stderr and aborts, in every build type.
[[noreturn]] void DieOfValueOnError(const Status& status);
}  // namespace internal

// Either a value or a non-OK Status. Accessing the value of a failed StatusOr
// is a programming error: the process aborts with the Status it held
// (internal::DieOfValueOnError), in release builds too.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const T& value) : value_(value) {}             // NOLINT(runtime/explicit)
  StatusOr(T&& value) : value_(std::move(value)) {}       // NOLINT(runtime/explicit)
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT(runtime/explicit)
    assert(!status_.ok() && "StatusOr built from an OK Status without a value");
    if (status_.ok()) status_ = InternalError("StatusOr constructed from OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    if (!ok()) internal::DieOfValueOnError(status_);
    return *value_;
  }
  const T& value() const& {
    if (!ok()) internal::DieOfValueOnError(status_);
    return *value_;
  }
  T&& value() && {
    if (!ok()) internal::DieOfValueOnError(status_);
    return std::move(*value_);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace cluster

// Evaluates an expression returning Status; returns it from the caller on failure.
#define CLUSTER_RETURN_IF_ERROR(expr)                 \
  do {                                                \
    ::cluster::Status _cluster_status = (expr);       \
    if (!_cluster_status.ok()) return _cluster_status; \
  } while (0)

#define CLUSTER_CONCAT_INNER(a, b) a##b
#define CLUSTER_CONCAT(a, b) CLUSTER_CONCAT_INNER(a, b)

// `CLUSTER_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a StatusOr, or
// returns its Status from the caller.
#define CLUSTER_ASSIGN_OR_RETURN(lhs, expr) \
  CLUSTER_ASSIGN_OR_RETURN_IMPL(CLUSTER_CONCAT(_cluster_statusor_, __LINE__), lhs, expr)
#define CLUSTER_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
