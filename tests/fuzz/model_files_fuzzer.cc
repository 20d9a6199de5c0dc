// Fuzzes what a model folder's files say: config.json
// (engine/model/model_config.h) and a safetensors header
// (engine/model/safetensors.h: the 8-byte size, the JSON header, every
// tensor's range). The input is both: it is parsed as config.json text and
// opened as a .safetensors file (through an in-memory file).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/model/model_config.h"
#include "engine/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)engine::ParseModelConfig(bytes, "fuzz/config.json");

  const int fd = ::memfd_create("fuzz.safetensors", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (size > 0 && ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    ::close(fd);
    return 0;
  }
  auto file = engine::SafetensorsFile::Open("/proc/self/fd/" + std::to_string(fd));
  if (file.ok()) {
    for (const auto& [name, tensor] : (*file)->tensors()) {
      if (tensor.begin > tensor.end) __builtin_trap();
    }
  }
  ::close(fd);
  return 0;
}
