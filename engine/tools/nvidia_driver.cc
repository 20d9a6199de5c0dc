#include "engine/tools/nvidia_driver.h"

#include <fstream>

namespace engine::tools {

std::string NvidiaDriverVersionIn(std::string_view text) {
  const std::size_t module = text.find("Kernel Module");
  if (module == std::string_view::npos) return "";
  text = text.substr(module);
  const std::string_view line = text.substr(0, text.find('\n'));
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t end = i;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    const std::string_view word = line.substr(i, end - i);
    const bool version = !word.empty() && word.front() >= '0' && word.front() <= '9' &&
                         word.find_first_not_of("0123456789.") == std::string_view::npos;
    if (version) return std::string(word);
    i = end;
  }
  return "";
}

std::string NvidiaDriverVersion() {
  std::ifstream file("/proc/driver/nvidia/version");
  if (!file) return "";
  std::string text(4096, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  return NvidiaDriverVersionIn(text);
}

}  // namespace engine::tools
