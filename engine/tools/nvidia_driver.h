// The NVIDIA kernel driver's version, for reports that name the machine
// (bench): the CUDA runtime tells only the newest CUDA the driver supports.
#pragma once

#include <string>
#include <string_view>

namespace engine::tools {

// The version in the text of /proc/driver/nvidia/version: the first word of
// digits and dots after "Kernel Module" ("NVRM version: NVIDIA UNIX x86_64
// Kernel Module  580.159.04  Release Build ..."; the open modules say "Open
// Kernel Module for x86_64  580.159.04 ..."), or "" if there is none.
std::string NvidiaDriverVersionIn(std::string_view text);

// This machine's, from the file's first 4 KiB; "" without the driver.
std::string NvidiaDriverVersion();

}  // namespace engine::tools
