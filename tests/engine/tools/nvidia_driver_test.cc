// The NVIDIA driver's version as bench reports it, from the text of
// /proc/driver/nvidia/version as the proprietary and the open kernel
// modules write it.
#include <catch2/catch.hpp>

#include "engine/tools/nvidia_driver.h"

using engine::tools::NvidiaDriverVersionIn;

TEST_CASE("The driver's version is the first number after Kernel Module, for the proprietary and the open modules") {
  CHECK(NvidiaDriverVersionIn("NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04  Wed Oct 22 20:31:13 UTC "
                              "2025\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n") == "580.159.04");
  CHECK(NvidiaDriverVersionIn("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.86.15  Release Build  "
                              "(dvs-builder@U16-I3-B13-4-1)  Thu Jan 23 22:54:41 UTC 2025\n") == "570.86.15");
  CHECK(NvidiaDriverVersionIn("NVRM version: NVIDIA UNIX aarch64 Kernel Module  535.54\n") == "535.54");
}

TEST_CASE("Text without a driver version gives none, never a neighbouring number") {
  CHECK(NvidiaDriverVersionIn("") == "");
  CHECK(NvidiaDriverVersionIn("NVRM version: something else 580.1\n") == "");
  // The version must be on the Kernel Module line: GCC's own does not count.
  CHECK(NvidiaDriverVersionIn("NVRM version: NVIDIA UNIX x86_64 Kernel Module\nGCC version:  gcc version 12.2.0\n") == "");
  CHECK(NvidiaDriverVersionIn("Kernel Module 5x.1 v580.1") == "");
}
