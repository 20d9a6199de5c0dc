#include "agent/receiver.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>

#include "agent/destination.h"
#include "agent/docker_images.h"
#include "agent/relay_socket.h"
#include "agent/stream_mac.h"
#include "agent/write_behind.h"
#include "common/build_info.h"
#include "common/receiver_protocol.h"
#include "common/subprocess.h"
#include "common/wire_token.h"

namespace cluster::agent {
namespace fs = std::filesystem;
using receiver::ErrorReply;
using receiver::OkReply;
using receiver::PartialPathFor;

namespace {

bool ParseU64(const std::string& text, std::uint64_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

std::string Errno(int err) { return std::strerror(err); }

// How long a relay hop may stall (no byte from upstream, or none taken by
// the next host) before this host gives up on it.
constexpr int kRelayIdleTimeoutS = 60;

}  // namespace

Receiver::Receiver(int in_fd, int out_fd, HashCache& cache) : in_(in_fd), out_fd_(out_fd), cache_(cache) {}

Status Receiver::Reply(const std::string& line) {
  if (!WriteAll(out_fd_, line.data(), line.size())) {
    return UnavailableError(fmt::format("cannot write a reply: {}", Errno(errno)));
  }
  return Status::Ok();
}

Status Receiver::Serve() {
  std::string line;
  for (;;) {
    if (!in_.ReadLine(&line)) return UnavailableError("the client went away (end of input)");
    std::vector<std::string> request;
    bool malformed = false;
    for (const auto& token : SplitTokens(line)) {
      auto decoded = DecodeToken(token);
      if (!decoded.ok()) malformed = true;
      request.push_back(decoded.ok() ? *decoded : "");
    }
    if (request.empty() || malformed) {
      CLUSTER_RETURN_IF_ERROR(Reply(ErrorReply(InvalidArgumentError(fmt::format("malformed request '{}'", line)))));
      continue;
    }
    bool done = false;
    CLUSTER_RETURN_IF_ERROR(Handle(request, &done));
    if (done) {
      Status saved = cache_.Save();
      (void)saved;  // a cache that cannot be saved costs a re-hash next time, nothing else
      return Status::Ok();
    }
  }
}

Status Receiver::Handle(const std::vector<std::string>& r, bool* done) {
  const std::string& verb = r[0];
  auto bad = [&] { return Reply(ErrorReply(InvalidArgumentError(fmt::format("bad arguments to '{}'", verb)))); };
  auto answer = [&](const StatusOr<std::vector<std::string>>& result) {
    return Reply(result.ok() ? OkReply(*result) : ErrorReply(result.status()));
  };
  if (verb == "bye") {
    *done = true;
    return Status::Ok();
  }
  if (verb == "hello") {
    if (r.size() != 2 || r[1] != std::to_string(receiver::kProtocolVersion)) {
      return Reply(ErrorReply(FailedPreconditionError(
          fmt::format("protocol version mismatch: clusterd {} speaks {}, the client {}", GetBuildInfo().version,
                      receiver::kProtocolVersion, r.size() > 1 ? r[1] : "?"))));
    }
    return Reply(OkReply({GetBuildInfo().version}));
  }
  if (verb == "free") {
    if (r.size() != 2) return bad();
    return answer(Free(r[1]));
  }
  if (verb == "check") {
    std::uint64_t size = 0;
    if (r.size() != 5 || !ParseU64(r[3], &size)) return bad();
    auto root = ReceiverPath(r[1]);
    if (!root.ok()) return answer(root.status());
    return answer(Check(*root, r[2], size, r[4]));
  }
  if (verb == "put") {
    StreamPlan plan;
    if (r.size() != 6 || !ParseU64(r[3], &plan.size) || !ParseU64(r[5], &plan.self_offset) ||
        plan.self_offset > plan.size) {
      // The byte count is unknown, so the stream cannot be kept in step: end the session.
      (void)bad();
      return InvalidArgumentError("malformed put request");
    }
    SetDestination(r[1], r[2], &plan);
    plan.hash = r[4];
    plan.stream_offset = plan.self_offset;
    bool lost = false;
    Status s = ReceiveStream(in_, plan, Hops{}, &lost);
    if (lost) return s;
    return Reply(s.ok() ? OkReply({"verified"}) : ErrorReply(s));
  }
  if (verb == "relay-accept") return RelayAccept(r);
  if (verb == "relay-put") {
    bool lost = false;
    Status s = RelayPut(r, &lost);
    return lost ? s : Status::Ok();
  }
  if (verb == "docker-check") {
    auto version = DockerVersion();
    if (!version.ok()) return answer(version.status());
    return answer(std::vector<std::string>{*version});
  }
  if (verb == "docker-load") {
    if (r.size() != 3) return bad();
    auto path = ReceiverPath(r[1]);
    if (!path.ok()) return answer(path.status());
    return answer(DockerLoadRequest(*path, r[2]));
  }
  return Reply(ErrorReply(InvalidArgumentError(fmt::format("unknown request '{}'", verb))));
}

StatusOr<std::vector<std::string>> Receiver::Free(const std::string& raw) {
  CLUSTER_ASSIGN_OR_RETURN(fs::path dir, ReceiverPath(raw));
  // The folder may not exist yet: measure the nearest one that does.
  std::error_code ec;
  while (!fs::exists(dir, ec) && dir.has_parent_path() && dir != dir.parent_path()) dir = dir.parent_path();
  struct statvfs vfs {};
  struct stat st {};
  if (::statvfs(dir.c_str(), &vfs) != 0 || ::stat(dir.c_str(), &st) != 0) {
    return PermissionDeniedError(fmt::format("{}: cannot measure free space: {}", dir.string(), Errno(errno)));
  }
  const std::uint64_t free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  return std::vector<std::string>{std::to_string(free_bytes), std::to_string(st.st_dev)};
}

void Receiver::SetDestination(const std::string& raw_root, const std::string& file, StreamPlan* plan) {
  auto root = ReceiverPath(raw_root);
  plan->root = root.ok() ? *root : fs::path(raw_root);
  plan->file = file;
  plan->valid = root.status();
}

StatusOr<std::vector<std::string>> Receiver::Check(const fs::path& root, const std::string& file, std::uint64_t size,
                                                   const std::string& hash) {
  checked_.reset();
  auto dest = Destination::Open(root, file, /*create=*/false);
  if (!dest.ok() && dest.status().code() == StatusCode::kNotFound) return std::vector<std::string>{"missing"};
  if (!dest.ok()) return dest.status();
  bool differs = false;
  if (auto final_size = dest->FinalSize()) {
    if (*final_size == size) {
      auto have = cache_.HashOf(dest->path());
      if (have.ok() && *have == hash) return std::vector<std::string>{"have"};
    }
    differs = true;
  }
  if (auto partial = dest->OpenPartialForReading()) {
    struct stat st {};
    const std::uint64_t partial_size = ::fstat(*partial, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    if (partial_size > 0 && partial_size <= size) {
      CheckedPartial cp;
      cp.path = dest->path();
      auto hashed = HashDescriptorInto(*partial, dest->partial_path().string(), cp.hasher, partial_size);
      if (hashed.ok() && *hashed == partial_size) {
        std::string prefix_hash = cp.hasher.HexDigest();
        cp.offset = partial_size;
        checked_ = std::move(cp);
        ::close(*partial);
        return std::vector<std::string>{"partial", std::to_string(partial_size), prefix_hash};
      }
    }
    ::close(*partial);
  }
  return std::vector<std::string>{differs ? "differs" : "missing"};
}

Status Receiver::ReceiveStream(ByteReader& source, const StreamPlan& plan, const Hops& hops, bool* source_lost) {
  // The whole stream [stream_offset, size) is always consumed (and forwarded)
  // even when this host's own copy fails, so the source stays in step and the
  // hosts downstream still get their bytes.
  const fs::path path = plan.root / plan.file;
  std::uint64_t pos = plan.stream_offset;
  const int forward_fd = hops.forward_fd;
  std::string* forward_error = hops.forward_error;
  std::optional<StreamMac> source_mac, forward_mac;
  if (!hops.source_key.empty()) source_mac.emplace(hops.source_key);
  if (forward_fd >= 0) forward_mac.emplace(hops.forward_key);
  std::vector<char> buffer(4 << 20);
  Status own = plan.valid;
  int fd = -1;
  ContentHasher hasher;

  const fs::path partial = PartialPathFor(path);
  std::optional<Destination> dest;
  if (own.ok()) {
    auto opened = Destination::Open(plan.root, plan.file, /*create=*/true);
    if (opened.ok()) {
      dest.emplace(std::move(*opened));
    } else {
      own = opened.status();
    }
  }
  if (own.ok()) {
    auto opened = dest->OpenPartialForWriting(/*fresh=*/plan.self_offset == 0);
    if (opened.ok()) {
      fd = *opened;
    } else {
      own = opened.status();
    }
  }
  if (own.ok() && plan.self_offset > 0) {
    if (checked_ && checked_->path == path && checked_->offset == plan.self_offset) {
      hasher = std::move(checked_->hasher);
    } else {
      auto hashed = HashDescriptorInto(fd, partial.string(), hasher, plan.self_offset);
      if (!hashed.ok() || *hashed != plan.self_offset) {
        own = FailedPreconditionError(
            fmt::format("{}: the partial file is shorter than offset {}", partial.string(), plan.self_offset));
      }
    }
  }
  checked_.reset();
  if (own.ok() && (::ftruncate(fd, static_cast<off_t>(plan.self_offset)) != 0 ||
                   ::lseek(fd, static_cast<off_t>(plan.self_offset), SEEK_SET) < 0)) {
    own = PermissionDeniedError(fmt::format("{}: cannot resize: {}", partial.string(), Errno(errno)));
  }
  WriteBehind behind(fd, plan.self_offset);
  std::uint64_t own_end = plan.self_offset;  // the partial file's length
  while (pos < plan.size) {
    std::size_t n = source.ReadSome(buffer.data(), static_cast<std::size_t>(std::min<std::uint64_t>(plan.size - pos, buffer.size())));
    if (n == 0) {
      // The bytes written so far stay in the partial file: the next push resumes there.
      if (fd >= 0) ::close(fd);
      if (forward_fd >= 0) ::shutdown(forward_fd, SHUT_WR);
      *source_lost = true;
      return UnavailableError(fmt::format("{}: the sender went away after {} of {} bytes", path.string(), pos, plan.size));
    }
    if (source_mac) source_mac->Update(buffer.data(), n);
    if (forward_fd >= 0 && forward_error->empty()) {
      forward_mac->Update(buffer.data(), n);
      if (!WriteAll(forward_fd, buffer.data(), n)) {
        *forward_error = fmt::format("forwarding to the next host failed: {}", Errno(errno));
      }
    }
    // Bytes before this host's own offset are already here (their hash was checked).
    const std::uint64_t skip = pos < plan.self_offset ? std::min<std::uint64_t>(plan.self_offset - pos, n) : 0;
    if (own.ok() && n > skip) {
      if (!WriteAll(fd, buffer.data() + skip, n - skip)) {
        own = ResourceExhaustedError(fmt::format("{}: write failed: {}", partial.string(), Errno(errno)));
      } else {
        hasher.Update(buffer.data() + skip, n - skip);
        own_end += n - skip;
        behind.Written(own_end);
      }
    }
    pos += n;
  }
  // A relay source ends with its tag; only bytes that carried a valid one are
  // vouched for to the next host (a bad tag there makes it refuse the file too).
  bool authentic = true;
  if (source_mac) {
    std::string tag(StreamMac::kTagSize, '\0');
    std::size_t got = 0;
    while (got < tag.size()) {
      std::size_t n = source.ReadSome(tag.data() + got, tag.size() - got);
      if (n == 0) break;
      got += n;
    }
    authentic = got == tag.size() && StreamMac::Equal(tag, source_mac->Finish());
  }
  if (forward_fd >= 0 && forward_error->empty()) {
    std::string tag = forward_mac->Finish();
    if (!authentic) tag.assign(StreamMac::kTagSize, '\0');
    if (!WriteAll(forward_fd, tag.data(), tag.size())) {
      *forward_error = fmt::format("forwarding to the next host failed: {}", Errno(errno));
    }
  }
  if (own.ok() && !authentic) {
    dest->DiscardPartial();  // unauthenticated bytes must not be resumed from
    own = DataLossError(fmt::format("{}: the relayed bytes failed authentication (HMAC); the partial file was "
                                    "discarded", path.string()));
  }
  if (!own.ok()) {
    if (fd >= 0) ::close(fd);
    return own;
  }
  if (::fdatasync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return DataLossError(fmt::format("{}: could not flush to disk: {}", partial.string(), Errno(err)));
  }
  ::close(fd);
  const std::string got = hasher.HexDigest();
  if (got != plan.hash) {
    dest->DiscardPartial();  // bad bytes must not be resumed from
    return DataLossError(fmt::format("{}: hash mismatch after receiving: got {}, expected {}; the partial file was "
                                     "discarded", path.string(), got, plan.hash));
  }
  CLUSTER_RETURN_IF_ERROR(dest->CommitPartial());
  cache_.Record(path, plan.hash);
  return Status::Ok();
}

namespace {
// "ok verified", with the forwarding problem when the next host was not fed.
std::string VerifiedReply(const std::string& forward_error) {
  if (forward_error.empty()) return OkReply({"verified"});
  return OkReply({"verified", "forward-failed", forward_error});
}
}  // namespace

Status Receiver::RelayAccept(const std::vector<std::string>& r) {
  StreamPlan plan;
  if ((r.size() != 10 && r.size() != 13) || !ParseU64(r[3], &plan.size) || !ParseU64(r[5], &plan.self_offset) ||
      !ParseU64(r[6], &plan.stream_offset) || plan.stream_offset > plan.self_offset || plan.self_offset > plan.size) {
    return Reply(ErrorReply(InvalidArgumentError("bad arguments to 'relay-accept'")));
  }
  SetDestination(r[1], r[2], &plan);
  if (!plan.valid.ok()) return Reply(ErrorReply(plan.valid));
  plan.hash = r[4];
  auto listener = ListenForRelay(r[8]);
  if (!listener.ok()) return Reply(ErrorReply(listener.status()));
  CLUSTER_RETURN_IF_ERROR(Reply(OkReply({"listening", std::to_string(listener->port)})));
  auto upstream = AcceptRelay(*listener, r[7], r[9], 60, kRelayIdleTimeoutS);
  if (!upstream.ok()) return Reply(ErrorReply(upstream.status()));
  int next = -1;
  std::string forward_error;
  if (r.size() == 13) {
    std::uint64_t port = 0;
    ParseU64(r[11], &port);
    auto connected = ConnectRelay(r[10], static_cast<int>(port), r[12], 10, kRelayIdleTimeoutS);
    if (connected.ok()) {
      next = *connected;
    } else {
      forward_error = connected.status().message();
    }
  }
  ByteReader from_upstream(*upstream);
  bool lost = false;
  Status s = ReceiveStream(from_upstream, plan, Hops{r[9], next, r.size() == 13 ? r[12] : "", &forward_error}, &lost);
  ::close(*upstream);
  if (next >= 0) ::close(next);
  return Reply(s.ok() ? VerifiedReply(forward_error) : ErrorReply(s));
}

Status Receiver::RelayPut(const std::vector<std::string>& r, bool* stream_lost) {
  StreamPlan plan;
  std::uint64_t port = 0;
  if (r.size() != 10 || !ParseU64(r[3], &plan.size) || !ParseU64(r[5], &plan.self_offset) ||
      !ParseU64(r[6], &plan.stream_offset) || !ParseU64(r[8], &port) || plan.stream_offset > plan.self_offset ||
      plan.self_offset > plan.size) {
    // The byte count is unknown, so the stream cannot be kept in step: end the session.
    (void)Reply(ErrorReply(InvalidArgumentError("bad arguments to 'relay-put'")));
    *stream_lost = true;
    return InvalidArgumentError("malformed relay-put request");
  }
  plan.hash = r[4];
  SetDestination(r[1], r[2], &plan);
  std::string forward_error;
  int next = -1;
  auto connected = ConnectRelay(r[7], static_cast<int>(port), r[9], 10, kRelayIdleTimeoutS);
  if (connected.ok()) {
    next = *connected;
  } else {
    forward_error = connected.status().message();
  }
  // A bad destination still consumes the stream, so the session stays in step.
  Status s = ReceiveStream(in_, plan, Hops{"", next, r[9], &forward_error}, stream_lost);
  if (next >= 0) ::close(next);
  if (*stream_lost) return s;
  return Reply(s.ok() ? VerifiedReply(forward_error) : ErrorReply(s));
}

StatusOr<std::vector<std::string>> Receiver::DockerLoadRequest(const fs::path& path, const std::string& id) {
  CLUSTER_RETURN_IF_ERROR(DockerVersion().status());
  if (DockerHasImage(id)) return std::vector<std::string>{"present"};
  CLUSTER_ASSIGN_OR_RETURN(std::vector<std::string> tags, DockerLoad(path.string()));
  std::vector<std::string> reply{"loaded"};
  reply.insert(reply.end(), tags.begin(), tags.end());
  return reply;
}

}  // namespace cluster::agent
