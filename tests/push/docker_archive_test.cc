// Reading the image id out of a `docker save` tarball without Docker.
#include "cli/transfer/docker_archive.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/files.h"
#include "common/subprocess.h"

using namespace cluster;
namespace fs = std::filesystem;

TEST_CASE("The image id of a docker-save archive is its manifest's Config digest") {
  fs::path dir = fs::temp_directory_path() / ("docker_archive_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto made = RunProcess({CLUSTER_SOURCE_DIR "/tests/push/make-image-tar", (dir / "i.tar").string(), "t/busybox:1"});
  REQUIRE(made.ok());
  REQUIRE(made->exit_code == 0);
  auto archive = cli::ReadDockerArchive(dir / "i.tar");
  REQUIRE(archive.ok());
  CHECK(archive->image_id + "\n" == made->out);
  CHECK(archive->repo_tags == std::vector<std::string>{"t/busybox:1"});
  fs::remove_all(dir);
}

TEST_CASE("A file that is not a docker-save archive is refused with what to do") {
  fs::path file = fs::temp_directory_path() / ("not_a_tar_" + std::to_string(::getpid()));
  REQUIRE(WriteFileAtomically(file, std::string(2048, '\0')).ok());
  auto archive = cli::ReadDockerArchive(file);
  REQUIRE_FALSE(archive.ok());
  CHECK(archive.status().message() == file.string() +
                                          ": not a `docker save` archive (no manifest.json); make it with `docker "
                                          "save IMAGE -o FILE`");
  fs::remove(file);
}
