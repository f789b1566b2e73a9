#pragma once
// Running the real `faceid` binary as a hostile user would: bounded in time, with its exit
// code, output and peak memory.
#include <cstdint>
#include <string>
#include <vector>

namespace faceid::hostile {

struct CliRun {
  int exit_code = -1;      // -1 when killed (by the time limit or a crash)
  bool timed_out = false;
  long peak_rss_kb = 0;    // the process's maximum resident set
  std::string out;         // stdout
  std::string err;         // stderr
};

// faceid --gallery GALLERY --model-dir <installed> ARGS..., killed after `limit_s` seconds.
CliRun run_cli(const std::string& gallery, const std::vector<std::string>& args, int limit_s = 60);

// Starts several runs at once and waits for all of them.
std::vector<CliRun> run_cli_concurrently(const std::string& gallery,
                                         const std::vector<std::vector<std::string>>& args_of_each,
                                         int limit_s = 60);

std::vector<std::uint8_t> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes);

}  // namespace faceid::hostile
