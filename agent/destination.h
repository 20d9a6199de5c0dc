// Where `clusterd receive` puts one file (docs/push.md, "File safety"): FILE,
// a relative path, below ROOT, the folder the operator named (a model
// folder, the image folder).
//
// ROOT is the operator's: it is created where missing and may sit behind
// the host's own symbolic links (/srv -> /data/srv). Below it the receiver
// never follows a link and never writes through one: every folder of FILE
// is opened with O_NOFOLLOW (and created with mkdirat when missing), the
// partial file is created anew with O_EXCL|O_NOFOLLOW (a link or a hard
// link planted at its name is removed, never written through), a partial
// file kept for resuming must be a plain file of this user with one link,
// and the verified file takes its name with renameat, which replaces a link
// there rather than writing to its target. All of it happens relative to
// the folder's descriptor, so a folder swapped for a link meanwhile changes
// nothing.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cluster::agent {

// ROOT as a request names it: absolute, or "~/..." expanded with $HOME;
// InvalidArgument for relative paths or paths with ".." parts.
StatusOr<std::filesystem::path> ReceiverPath(const std::string& raw);

// The parts of FILE, a path relative to the destination folder:
// InvalidArgument for one that is empty, absolute, or has empty, "." or
// ".." parts.
StatusOr<std::vector<std::string>> RelativeParts(const std::string& file);

class Destination {
 public:
  // Opens ROOT (creating it with `create`) and FILE's folders below it
  // (creating them with `create`). NotFound when a folder is missing and
  // `create` is false; InvalidArgument naming the part for a FILE that is
  // absolute, empty, has "." or ".." parts, or a link or non-folder where a
  // folder must be; PermissionDenied when a folder cannot be made.
  static StatusOr<Destination> Open(const std::filesystem::path& root, const std::string& file, bool create);

  Destination(Destination&& other) noexcept;
  Destination& operator=(Destination&& other) noexcept;
  Destination(const Destination&) = delete;
  Destination& operator=(const Destination&) = delete;
  ~Destination();

  // ROOT/FILE, for messages and the hash cache.
  const std::filesystem::path& path() const { return path_; }
  // ".NAME.clusterd-partial" beside it, for messages.
  std::filesystem::path partial_path() const;

  // The size of the file at FILE when it is a regular file (not a link).
  std::optional<std::uint64_t> FinalSize() const;
  // The partial file for reading (check): a regular file of this user with
  // one link, else nullopt. The caller closes it.
  std::optional<int> OpenPartialForReading() const;
  // The partial file for writing: `fresh` removes whatever has the name and
  // creates a new file (O_EXCL); else the existing one, which must be a
  // regular file of this user with one link (DataLoss otherwise: it is
  // removed, and the client sends the file from byte 0). The caller closes it.
  StatusOr<int> OpenPartialForWriting(bool fresh) const;
  // Removes the partial file (whatever it is: the name only).
  void DiscardPartial() const;
  // Renames the partial file onto FILE and syncs the folder.
  Status CommitPartial() const;

 private:
  Destination(int dir_fd, std::string name, std::filesystem::path path);
  std::string partial_name() const;
  bool IsOwnPlainFile(int fd) const;

  int dir_fd_ = -1;  // FILE's folder
  std::string name_;  // FILE's last part
  std::filesystem::path path_;
};

}  // namespace cluster::agent
