#include "cli/transfer/transport.h"

#include <algorithm>

namespace cluster::cli {

std::string TrimOutput(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

StatusOr<CommandResult> Transport::Run(const std::string& command, const std::string& input) {
  CLUSTER_ASSIGN_OR_RETURN(std::unique_ptr<RemoteProcess> p, Start(command));
  if (!input.empty()) CLUSTER_RETURN_IF_ERROR(p->Write(input.data(), input.size()));
  p->CloseInput();
  CommandResult result;
  char buf[65536];
  for (;;) {
    CLUSTER_ASSIGN_OR_RETURN(std::size_t n, p->Read(buf, sizeof buf));
    if (n == 0) break;
    result.out.append(buf, n);
  }
  CLUSTER_ASSIGN_OR_RETURN(result.exit_code, p->Wait());
  result.err = p->ErrorText();
  return result;
}

StatusOr<std::string> LineReader::ReadLine() {
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    char buf[4096];
    CLUSTER_ASSIGN_OR_RETURN(std::size_t n, process_.Read(buf, sizeof buf));
    if (n == 0) return UnavailableError("the receiver ended its output early");
    buffer_.append(buf, n);
  }
}

}  // namespace cluster::cli
