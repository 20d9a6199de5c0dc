// `clusterd receive`: the far end of `clusterctl push`. It reads requests on
// one stream and answers on another (stdin/stdout of an SSH exec channel),
// following docs/push.md:
//
//   hello VERSION                 -> ok CLUSTERD_VERSION
//   free DIR                      -> ok FREE_BYTES FS_ID
//   check ROOT FILE SIZE HASH     -> ok have | ok partial OFFSET PREFIX_HASH | ok missing | ok differs
//   put ROOT FILE SIZE HASH OFF   <SIZE-OFF bytes> -> ok verified
//   relay-accept ROOT FILE SIZE HASH SELF_OFF STREAM_OFF UPSTREAM_ADDR LISTEN_ADDR TOKEN [NEXT_ADDR NEXT_PORT NEXT_TOKEN]
//                                 -> ok listening PORT, later ok verified [forward-failed MSG]
//   relay-put ROOT FILE SIZE HASH SELF_OFF STREAM_OFF NEXT_ADDR NEXT_PORT NEXT_TOKEN <SIZE-STREAM_OFF bytes>
//                                 -> ok verified [forward-failed MSG]
//   docker-check             -> ok SERVER_VERSION
//   docker-load PATH ID      -> ok present | ok loaded TAG...
//   bye
//
// Guarantees: bytes gather in PartialPathFor(ROOT/FILE) and survive a lost
// connection, so the next push resumes; ROOT/FILE is replaced only by an
// atomic rename after the whole file's hash matched. ROOT must be absolute or
// start with "~/" (the receiving user's home); FILE is relative, and below
// ROOT nothing is ever written through a symbolic link (destination.h).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/byte_reader.h"
#include "agent/destination.h"
#include "common/content_hash.h"
#include "common/manifest.h"
#include "common/status.h"

namespace cluster::agent {

class Receiver {
 public:
  // Reads requests from `in_fd`, writes replies to `out_fd`; remembers hashes
  // of the files it verified in `cache` (saved when the session ends).
  Receiver(int in_fd, int out_fd, HashCache& cache);

  // Serves requests until "bye" or the end of the input. OK after "bye";
  // Unavailable when the stream ended early (the client went away: partial
  // files are kept); other errors when the output cannot be written.
  Status Serve();

 private:
  Status Handle(const std::vector<std::string>& request, bool* done);
  Status Reply(const std::string& line);
  StatusOr<std::vector<std::string>> Free(const std::string& dir);
  StatusOr<std::vector<std::string>> Check(const std::filesystem::path& root, const std::string& file,
                                           std::uint64_t size, const std::string& hash);
  // What one stream of a file's bytes carries and where they go.
  struct StreamPlan {
    std::filesystem::path root;  // the destination folder
    std::string file;            // relative to it
    Status valid;                // ROOT's path is usable (the stream is consumed either way)
    std::uint64_t size = 0;
    std::string hash;
    std::uint64_t self_offset = 0;    // this host's copy continues here (its prefix was verified)
    std::uint64_t stream_offset = 0;  // the stream starts here (<= self_offset)
  };
  // The relay hops around a stream: where bytes come from and go to, and the
  // one-time tokens that key each hop's HMAC (empty: not a relay hop).
  struct Hops {
    std::string source_key;   // the stream arrives from a relay socket: verify its tag
    int forward_fd = -1;      // the next host, or -1
    std::string forward_key;  // tag what is forwarded with this
    std::string* forward_error = nullptr;  // set when forwarding failed (then it stops)
  };
  void SetDestination(const std::string& raw_root, const std::string& file, StreamPlan* plan);
  // Reads [stream_offset, size) from `source` (and then its tag, for a relay
  // source), writes this host's part to the partial file, copies every byte to
  // the next host (with a tag that is valid only if this host's own source
  // tag was), then verifies and renames. Consumes the announced bytes even
  // when it fails early, so the stream stays in step.
  Status ReceiveStream(ByteReader& source, const StreamPlan& plan, const Hops& hops, bool* source_lost);
  // Chain relay (docs/push.md): relay-accept on a downstream host, relay-put on the first.
  Status RelayAccept(const std::vector<std::string>& request);
  Status RelayPut(const std::vector<std::string>& request, bool* stream_lost);

  StatusOr<std::vector<std::string>> DockerLoadRequest(const std::filesystem::path& path, const std::string& id);

  ByteReader in_;
  int out_fd_;
  HashCache& cache_;
  // The prefix hash computed by the last `check` that found a partial file,
  // so the `put` that resumes it does not read the prefix again.
  struct CheckedPartial {
    std::filesystem::path path;
    std::uint64_t offset = 0;
    ContentHasher hasher;
  };
  std::optional<CheckedPartial> checked_;
};

}  // namespace cluster::agent
