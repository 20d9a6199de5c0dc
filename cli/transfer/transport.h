// Transport: how clusterctl runs commands on a host. SshTransport (cli/ssh/)
// runs them over SSH exec channels; LocalTransport runs them on this machine
// for hosts with `transport: local`. Push needs nothing more than a command
// with a byte stream in each direction: the receiver protocol (docs/push.md)
// runs over it.
//
// A Transport and the RemoteProcesses it starts are used by one thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/status.h"

namespace cluster::cli {

// A command running on a host, with its stdin and stdout as streams.
class RemoteProcess {
 public:
  virtual ~RemoteProcess() = default;
  // Writes all of `data` to the command's stdin. Unavailable when the
  // connection or the command went away.
  virtual Status Write(const void* data, std::size_t size) = 0;
  // Reads up to `max` bytes of its stdout; 0 at end of output.
  virtual StatusOr<std::size_t> Read(char* out, std::size_t max) = 0;
  // Ends its stdin (the command sees end of file).
  virtual void CloseInput() = 0;
  // Waits for the command to end; its exit code. Stderr text is kept for messages.
  virtual StatusOr<int> Wait() = 0;
  // What the command wrote on stderr so far (read after Wait), trimmed.
  virtual std::string ErrorText() = 0;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `text` without trailing newlines, carriage returns and spaces: a command's
// one-line answer (a hash, a JSON line) or a key file's contents.
std::string TrimOutput(std::string text);

class Transport {
 public:
  virtual ~Transport() = default;
  // Starts `command` in the host's shell (/bin/sh syntax, $HOME expanded there).
  virtual StatusOr<std::unique_ptr<RemoteProcess>> Start(const std::string& command) = 0;
  // Runs `command` to completion with `input` on its stdin.
  StatusOr<CommandResult> Run(const std::string& command, const std::string& input = "");
  // True for LocalTransport: the agent binary is run in place, not copied.
  virtual bool IsLocal() const = 0;
};

// Reads newline-terminated replies from a RemoteProcess, with a buffer.
class LineReader {
 public:
  explicit LineReader(RemoteProcess& process) : process_(process) {}
  // One line without '\n'. Unavailable at end of output (the message says so).
  StatusOr<std::string> ReadLine();

 private:
  RemoteProcess& process_;
  std::string buffer_;
};

}  // namespace cluster::cli
