#include "cli/transfer/host_push.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <future>
#include <map>

#include <fmt/format.h>

#include "cli/transfer/size_text.h"
#include "common/content_hash.h"
#include "common/receiver_protocol.h"
#include "common/wire_token.h"

namespace cluster::cli {

namespace {

std::uint64_t ToU64(const std::string& s) {
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}


constexpr std::size_t kChunk = 4 << 20;
// `check` requests sent before their replies are read (CheckFiles).
constexpr std::size_t kCheckBatch = 64;

}  // namespace

std::string RequestLine(std::initializer_list<std::string> tokens) {
  std::string line;
  for (const auto& t : tokens) line += (line.empty() ? "" : " ") + EncodeToken(t);
  return line + "\n";
}

HostPush::HostPush(Transport& transport, std::string agent_command, const HostJob& job, PushObserver& observer,
                   const std::atomic<bool>& cancel, HostReport& report)
    : transport_(transport),
      agent_command_(std::move(agent_command)),
      job_(job),
      observer_(observer),
      cancel_(cancel),
      report_(report) {}

StatusOr<std::vector<std::string>> HostPush::Request(const std::string& line) {
  CLUSTER_RETURN_IF_ERROR(receiver_->Write(line.data(), line.size()));
  return ReadReply();
}

StatusOr<std::vector<std::string>> HostPush::ReadReply() {
  CLUSTER_ASSIGN_OR_RETURN(std::string reply, replies_->ReadLine());
  return receiver::ParseReply(reply);
}

Status HostPush::Run() {
  CLUSTER_RETURN_IF_ERROR(Prepare());
  CLUSTER_RETURN_IF_ERROR(SendAll());
  return Finish();
}

Status HostPush::Prepare() {
  observer_.Phase(job_.host, "starting receiver");
  CLUSTER_ASSIGN_OR_RETURN(receiver_, transport_.Start(agent_command_ + " receive"));
  replies_ = std::make_unique<LineReader>(*receiver_);
  auto hello = Request(RequestLine({"hello", std::to_string(receiver::kProtocolVersion)}));
  if (!hello.ok()) {
    std::string err = receiver_->ErrorText();
    return hello.status().WithContext(err.empty() ? "the receiver did not start" : "the receiver failed: " + err);
  }

  bool has_image = false;
  for (const auto& a : job_.artifacts) has_image = has_image || a.artifact->kind == Artifact::Kind::kImage;
  if (has_image) {
    // Before any byte is sent: a host without Docker cannot use an image.
    auto docker = Request(RequestLine({"docker-check"}));
    if (!docker.ok()) {
      std::string images;
      for (const auto& a : job_.artifacts) {
        if (a.artifact->kind == Artifact::Kind::kImage) images += (images.empty() ? "" : ", ") + a.artifact->name;
      }
      return docker.status().WithContext(fmt::format("image {} asked for", images));
    }
  }

  observer_.Phase(job_.host, "checking");
  tasks_.clear();
  for (const auto& a : job_.artifacts) {
    for (const auto& entry : a.artifact->manifest.files) {
      tasks_.push_back(FileTask{&a, &entry, a.remote_root + "/" + entry.path});
    }
  }
  CLUSTER_RETURN_IF_ERROR(CheckFiles());
  return CheckFreeSpace();
}

Status HostPush::SendAll() {
  observer_.Phase(job_.host, "sending");
  for (auto& task : tasks_) {
    if (cancel_.load()) return CancelledError("interrupted");
    CLUSTER_RETURN_IF_ERROR(SendFile(task));
  }
  return Status::Ok();
}

Status HostPush::Finish() {
  for (const auto& a : job_.artifacts) {
    if (a.artifact->kind == Artifact::Kind::kImage) CLUSTER_RETURN_IF_ERROR(LoadImage(a));
  }
  std::string bye = RequestLine({"bye"});
  CLUSTER_RETURN_IF_ERROR(receiver_->Write(bye.data(), bye.size()));
  receiver_->CloseInput();
  (void)receiver_->Wait();
  return Status::Ok();
}

Status HostPush::CheckFiles() {
  std::uint64_t to_send = 0, there = 0;
  // The requests of a batch go out together and their replies come back in
  // order: a folder of many files costs a round trip per batch, not per file.
  // A batch's replies are a few KiB, so neither side can block the other.
  for (std::size_t first = 0; first < tasks_.size(); first += kCheckBatch) {
    if (cancel_.load()) return CancelledError("interrupted");
    const std::size_t end = std::min(tasks_.size(), first + kCheckBatch);
    std::string requests;
    for (std::size_t i = first; i < end; ++i) {
      const FileTask& task = tasks_[i];
      requests += RequestLine({"check", task.where->remote_root, task.entry->path, std::to_string(task.entry->size),
                               task.entry->hash});
    }
    CLUSTER_RETURN_IF_ERROR(receiver_->Write(requests.data(), requests.size()));
    for (std::size_t i = first; i < end; ++i) {
      FileTask& task = tasks_[i];
      CLUSTER_ASSIGN_OR_RETURN(auto reply, ReadReply());
      if (reply.empty()) return DataLossError("the receiver sent an empty check reply");
      task.state = reply[0];
      if (task.state == "partial" && reply.size() == 3) {
        task.offset = ToU64(reply[1]);
        task.prefix_hash = reply[2];
      }
      if (task.state == "have") {
        there += task.entry->size;
      } else {
        to_send += task.entry->size - task.offset;
        there += task.offset;
      }
    }
  }
  observer_.Planned(job_.host, to_send, there);
  return Status::Ok();
}

Status HostPush::CheckFreeSpace() {
  struct FileSystem {
    std::uint64_t free = 0, need = 0;
    std::string where;
  };
  std::map<std::string, FileSystem> by_fs;  // keyed by the host's device id
  std::map<const HostArtifact*, std::string> fs_of;
  std::string requests;  // one per artifact, sent together as in CheckFiles
  for (const auto& a : job_.artifacts) requests += RequestLine({"free", a.remote_root});
  CLUSTER_RETURN_IF_ERROR(receiver_->Write(requests.data(), requests.size()));
  for (const auto& a : job_.artifacts) {
    CLUSTER_ASSIGN_OR_RETURN(auto reply, ReadReply());
    if (reply.size() != 2) return DataLossError("the receiver sent a malformed free reply");
    by_fs[reply[1]].free = ToU64(reply[0]);
    if (by_fs[reply[1]].where.empty()) by_fs[reply[1]].where = a.remote_root;
    fs_of[&a] = reply[1];
  }
  for (const auto& t : tasks_) {
    if (t.state != "have") by_fs[fs_of[t.where]].need += t.entry->size - t.offset;
  }
  for (const auto& [id, fs] : by_fs) {
    if (fs.need > fs.free) {
      return ResourceExhaustedError(fmt::format(
          "not enough free disk for {}: need {}, {} free; free space there or choose another path "
          "(artifacts.models[].path, hosts[].model_paths, --image-dir). Nothing was sent",
          fs.where, SizeText(fs.need), SizeText(fs.free)));
    }
  }
  return Status::Ok();
}

void HostPush::RecordSkipped(const FileTask& task) {
  ++report_.files_skipped;
  report_.bytes_skipped += task.entry->size;
  observer_.FileDone(job_.host, task.where->artifact->name, task.entry->path, "skipped", 0, 0);
}

void HostPush::RecordDone(const FileTask& task, std::uint64_t offset, std::uint64_t bytes_received) {
  if (task.state == "differs") ++report_.files_replaced;
  ++report_.files_verified;
  if (offset > 0) {
    ++report_.files_resumed;
    report_.bytes_resumed += offset;
  } else {
    ++report_.files_sent;
  }
  observer_.FileDone(job_.host, task.where->artifact->name, task.entry->path, offset > 0 ? "resumed" : "sent", offset,
                     bytes_received);
}

std::uint64_t HostPush::ResumeOffset(const FileTask& task) {
  if (task.state != "partial") return 0;
  // Resume only when the bytes the host holds are the bytes we have.
  ContentHasher local;
  auto hashed = HashFileInto(task.where->artifact->LocalFile(*task.entry), local, task.offset);
  if (hashed.ok() && *hashed == task.offset && local.HexDigest() == task.prefix_hash) return task.offset;
  return 0;
}

Status HostPush::SendFile(FileTask& task) {
  if (task.state == "have") {
    RecordSkipped(task);
    return Status::Ok();
  }
  std::uint64_t offset = ResumeOffset(task);
  for (int attempt = 0;; ++attempt) {
    const std::uint64_t before = report_.bytes_sent;
    const std::string header = RequestLine({"put", task.where->remote_root, task.entry->path,
                                            std::to_string(task.entry->size), task.entry->hash,
                                            std::to_string(offset)});
    Status s = SendStream(task, header, offset);
    if (s.ok()) s = ReadReply().status();
    if (s.ok()) {
      RecordDone(task, offset, report_.bytes_sent - before);
      return Status::Ok();
    }
    // A hash mismatch discards the partial file on the host: send it whole once more.
    if (s.code() != StatusCode::kDataLoss || attempt > 0) return s.WithContext(task.remote_path);
    offset = 0;
  }
}

Status HostPush::SendStream(const FileTask& task, const std::string& header, std::uint64_t offset,
                            const std::vector<HostPush*>& credit) {
  const std::filesystem::path local = task.where->artifact->LocalFile(*task.entry);
  const std::uint64_t size = task.entry->size;
  int fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFoundError(fmt::format("{}: cannot open: {}", local.string(), std::strerror(errno)));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Status s = receiver_->Write(header.data(), header.size());
  // Two buffers: the next chunk is read from disk while this one goes on the wire.
  std::vector<char> buffers[2] = {std::vector<char>(kChunk), std::vector<char>(kChunk)};
  auto read_chunk = [fd](char* out, std::uint64_t at, std::size_t n) -> ssize_t {
    std::size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd, out + done, n - done, static_cast<off_t>(at + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return r < 0 ? -1 : static_cast<ssize_t>(done);
      done += static_cast<std::size_t>(r);
    }
    return static_cast<ssize_t>(done);
  };
  std::uint64_t pos = offset;
  int current = 0;
  auto chunk_at = [&](std::uint64_t at) { return static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - at)); };
  std::future<ssize_t> pending;
  if (s.ok() && pos < size) pending = std::async(std::launch::async, read_chunk, buffers[0].data(), pos, chunk_at(pos));
  while (s.ok() && pos < size) {
    const std::size_t n = chunk_at(pos);
    ssize_t got = pending.get();
    if (got != static_cast<ssize_t>(n)) {
      s = DataLossError(fmt::format("{}: changed or unreadable while sending (push again)", local.string()));
      break;
    }
    const std::uint64_t next = pos + n;
    if (next < size) {
      pending = std::async(std::launch::async, read_chunk, buffers[1 - current].data(), next, chunk_at(next));
    }
    if (cancel_.load()) {
      s = CancelledError("interrupted; the bytes sent so far are kept on the host");
      break;
    }
    s = receiver_->Write(buffers[current].data(), n);
    if (!s.ok()) break;
    if (credit.empty()) {
      report_.bytes_sent += n;
      observer_.Sent(job_.host, n);
    }
    for (HostPush* h : credit) {
      h->report_.bytes_sent += n;
      h->observer_.Sent(h->job_.host, n);
    }
    pos = next;
    current = 1 - current;
  }
  if (pending.valid()) pending.wait();
  ::close(fd);
  if (!s.ok()) {
    // The stream is out of step with the receiver: this session cannot go on.
    // DataLoss here is local, not the host's hash check, so it must not retry.
    return s.code() == StatusCode::kDataLoss ? FailedPreconditionError(s.message()) : s;
  }
  return Status::Ok();
}

Status HostPush::LoadImage(const HostArtifact& image) {
  const Artifact& a = *image.artifact;
  observer_.Phase(job_.host, "loading image " + a.name);
  const std::string path = image.remote_root + "/" + a.manifest.files.front().path;
  CLUSTER_ASSIGN_OR_RETURN(auto reply, Request(RequestLine({"docker-load", path, a.docker->image_id})));
  if (reply.empty()) return DataLossError("the receiver sent an empty docker-load reply");
  std::vector<std::string> tags(reply.begin() + 1, reply.end());
  if (reply[0] == "present") {
    report_.images_present.push_back(a.name);
    observer_.ImageDone(job_.host, a.name, "present", a.docker->repo_tags);
  } else {
    report_.images_loaded.insert(report_.images_loaded.end(), tags.begin(), tags.end());
    observer_.ImageDone(job_.host, a.name, "loaded", tags);
  }
  return Status::Ok();
}

}  // namespace cluster::cli
