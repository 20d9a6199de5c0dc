// The syntax of inventory values (names, addresses, subnets, sizes) and the
// "did you mean" suggestions: pure functions of the loader, tested alone.
#include <catch2/catch.hpp>

#include "common/env_allow_list.h"
#include "common/spelling.h"
#include "common/src/inventory/value_syntax.h"

using namespace cluster::inventory;
using cluster::CheckAllowedEnvName;
using cluster::ClosestMatch;
using cluster::EditDistance;
using cluster::JoinAlternatives;

TEST_CASE("Edit distance counts one typo as 1, ignoring case and - versus _") {
  CHECK(EditDistance("pipeline_paralel", "pipeline_parallel") == 1);  // a letter left out
  CHECK(EditDistance("tensor_parallle", "tensor_parallel") == 1);     // two letters swapped
  CHECK(EditDistance("Port", "port") == 0);
  CHECK(EditDistance("vllm-docker", "vllm_docker") == 0);
  CHECK(EditDistance("", "abc") == 3);
}

TEST_CASE("A suggestion is made only for a likely typo, and prefers the nearest key") {
  const std::vector<std::string_view> keys = {"tensor_parallel", "pipeline_parallel", "port", "dtype"};
  CHECK(ClosestMatch("pipeline_paralel", keys) == "pipeline_parallel");
  CHECK(ClosestMatch("prot", keys) == "port");
  CHECK(ClosestMatch("tensor_parallel_size", keys) == "tensor_parallel");  // contains a key
  CHECK(ClosestMatch("parallel", keys) == std::nullopt);                   // in two keys: no guess
  CHECK(ClosestMatch("replicas", keys) == std::nullopt);
}

TEST_CASE("Alternatives are listed as 'a, b or c'") {
  CHECK(JoinAlternatives({"auto"}) == "auto");
  CHECK(JoinAlternatives({"engine", "vllm-docker"}) == "engine or vllm-docker");
  CHECK(JoinAlternatives({"auto", "float16", "bfloat16"}) == "auto, float16 or bfloat16");
}

TEST_CASE("An unknown command is named with the closest command, or the list of them") {
  const std::vector<std::string_view> commands = {"validate", "plan", "status"};
  CHECK(cluster::UnknownCommandMessage("stauts", commands) == "unknown command 'stauts'; did you mean 'status'?");
  CHECK(cluster::UnknownCommandMessage("deploy", commands) ==
        "unknown command 'deploy'; the commands are validate, plan or status");
  // The word is the user's: shown safely.
  CHECK(cluster::UnknownCommandMessage("a\x1b[2Jb", commands) ==
        "unknown command 'a\\x1b[2Jb'; the commands are validate, plan or status");
}

TEST_CASE("The command of a command line is its first word that is not a flag before it") {
  auto unknown = [](std::vector<const char*> argv) {
    argv.insert(argv.begin(), "prog");
    return cluster::UnknownCommandIn(static_cast<int>(argv.size()), argv.data(), {"plan", "status"}, {"-v", "--json"});
  };
  CHECK(unknown({"stauts"}) == "unknown command 'stauts'; did you mean 'status'?");
  CHECK(unknown({"-v", "--json", "paln", "-f", "x"}) == "unknown command 'paln'; did you mean 'plan'?");
  CHECK(unknown({"plan", "whatever"}) == std::nullopt);  // a known command: its own parser goes on
  CHECK(unknown({"-f", "x", "plan"}) == std::nullopt);   // an option of no flag list: the parser reports it
  CHECK(unknown({"-v"}) == std::nullopt);                // no command at all: the parser says one is needed
}

TEST_CASE("A cluster name is lowercase letters, digits and dashes, safe in a folder name") {
  CHECK(CheckClusterName("t4-lab").ok());
  CHECK(CheckClusterName("T4-lab").message() == "it contains \"T\"");
  CHECK(CheckClusterName("t4_lab").message() == "it contains \"_\"");
  CHECK(CheckClusterName("-lab").message() == "it starts with \"-\"");
  CHECK(CheckClusterName(std::string(64, 'a')).message() == "it has 64 characters");
}

TEST_CASE("A host name may also hold dots, underscores and capitals") {
  CHECK(CheckHostName("GPU_1.rack-a").ok());
  CHECK(CheckHostName("gpu 1").message() == "it contains \" \"");
  CHECK(CheckHostName(".hidden").message() == "it starts with \".\"");
}

TEST_CASE("Interface names follow the Linux rules: 1 to 15 bytes, no '/', ':' or spaces") {
  CHECK(CheckInterfaceName("ens1f0").ok());
  CHECK(CheckInterfaceName("enp129s0f1np1").ok());
  CHECK(CheckInterfaceName("averyveryverylong").message() == "it has 17 characters");
  CHECK(CheckInterfaceName("eth0:1").message() == "it contains \":\"");
  CHECK(CheckInterfaceName("a/b").message() == "it contains \"/\"");
  CHECK(CheckInterfaceName("..").message() == "\"..\" is reserved");
}

TEST_CASE("A host address is an IPv4 or IPv6 address or a DNS name, and nothing around it") {
  CHECK(CheckHostAddress("10.0.0.11").ok());
  CHECK(CheckHostAddress("fd00::11").ok());
  CHECK(CheckHostAddress("gpu1.lab.example").ok());
  CHECK(CheckHostAddress("gpu1").ok());
  CHECK(CheckHostAddress("10.0.0.256").message() == "an IPv4 address is four numbers from 0 to 255");
  CHECK(CheckHostAddress("[fd00::11]").message() == "write an IPv6 address without brackets");
  CHECK(CheckHostAddress("10.0.0.11:22").message() == "give the port as ssh.port, and the address alone");
  CHECK(CheckHostAddress("gpu_1!").message() == "a DNS name is letters, digits, \"-\" and dots");
}

TEST_CASE("A subnet contains exactly the addresses under its prefix") {
  auto subnet = ParseSubnet("10.0.0.0/24");
  REQUIRE(subnet.ok());
  CHECK(subnet->Contains(*ParseIpAddress("10.0.0.255")));
  CHECK_FALSE(subnet->Contains(*ParseIpAddress("10.0.1.0")));
  CHECK_FALSE(subnet->Contains(*ParseIpAddress("::ffff:10.0.0.1")));  // another family
  auto v6 = ParseSubnet("fd00::/64");
  REQUIRE(v6.ok());
  CHECK(v6->Contains(*ParseIpAddress("fd00::11")));
  CHECK(ParseSubnet("10.0.0.0/0")->Contains(*ParseIpAddress("192.168.1.1")));
}

TEST_CASE("A subnet with host bits set is read as its network") {
  auto subnet = ParseSubnet("10.0.0.5/24");
  REQUIRE(subnet.ok());
  CHECK(subnet->HasHostBits());
  CHECK(subnet->Canonical() == "10.0.0.0/24");
  CHECK_FALSE(ParseSubnet("10.0.0.0/24")->HasHostBits());
}

TEST_CASE("Malformed subnets say what is wrong") {
  CHECK(ParseSubnet("10.0.0.0").status().message() == "the prefix length such as /24 is missing");
  CHECK(ParseSubnet("10.0.0.0/33").status().message() == "the prefix length 33 is larger than 32");
  CHECK(ParseSubnet("10.0.0/24").status().message() == "\"10.0.0\" is not an IP address");
  CHECK(ParseSubnet("10.0.0.0/x").status().message() == "\"x\" is not a prefix length");
}

TEST_CASE("Byte sizes take decimal and binary units, or plain bytes") {
  CHECK(*ParseByteSize("16GiB") == 16ull << 30);
  CHECK(*ParseByteSize("16 GiB") == 16ull << 30);
  CHECK(*ParseByteSize("16GB") == 16'000'000'000ull);
  CHECK(*ParseByteSize("15.5GB") == 15'500'000'000ull);
  CHECK(*ParseByteSize("17179869184") == 17179869184ull);
  CHECK(ParseByteSize("16gigs").status().message() ==
        "unknown unit \"gigs\"; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB");
  CHECK(ParseByteSize("GiB").status().message() == "it does not start with a number");
  CHECK(ParseByteSize("0GiB").status().message() == "it must be more than 0 bytes");
  CHECK(ParseByteSize("1.5").status().message() == "a fraction of a byte; add a unit");
}

TEST_CASE("Docker sizes are a number and a unit letter, as docker run --shm-size takes them") {
  CHECK(*ParseDockerSize("16g") == 16ull << 30);
  CHECK(*ParseDockerSize("512m") == 512ull << 20);
  CHECK(*ParseDockerSize("1GB") == 1ull << 30);
  CHECK(*ParseDockerSize("2GiB") == 2ull << 30);
  CHECK(*ParseDockerSize("4096") == 4096);
  CHECK(ParseDockerSize("16q").status().message() == "unknown unit \"q\"; use b, k, m, g, t or p");
  CHECK(ParseDockerSize("16gg").status().message() == "unknown unit \"gg\"; use b, k, m, g, t or p");
}

TEST_CASE("The environment a request may set is an allow-list of prefixes, never the loader's") {
  CHECK(CheckAllowedEnvName("VLLM_LOGGING_LEVEL").ok());
  CHECK(CheckAllowedEnvName("NCCL_SOCKET_IFNAME").ok());
  CHECK(CheckAllowedEnvName("OMP_NUM_THREADS").ok());
  CHECK(CheckAllowedEnvName("INFER_ENGINE_RENDEZVOUS_TOKEN").ok());  // by name, not by prefix
  CHECK_FALSE(CheckAllowedEnvName("INFER_ENGINE_OTHER").ok());
  CHECK_FALSE(CheckAllowedEnvName("NCCL_").ok());  // a prefix alone names nothing
  CHECK_FALSE(CheckAllowedEnvName("LD_PRELOAD").ok());
  CHECK_FALSE(CheckAllowedEnvName("PYTHONPATH").ok());
  CHECK_FALSE(CheckAllowedEnvName("vllm_x").ok());
  CHECK_FALSE(CheckAllowedEnvName("1X").ok());
  CHECK_FALSE(CheckAllowedEnvName("").ok());
  CHECK(CheckAllowedEnvName("VLLM_API_KEY").message() ==
        "'VLLM_API_KEY' may not be set by a request: the agent gives vLLM its own copy of the API key "
        "(runtime.api_key_file), which never travels over the network");
}
