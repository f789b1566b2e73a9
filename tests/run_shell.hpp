#pragma once
// Running a command line from a test: its stdout (add 2>&1 for stderr too) and exit status.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace faceid::test {

struct ShellResult {
  int exit_code = -1;  // -1: it did not exit normally
  std::string out;
};

inline ShellResult run_shell(const std::string& command) {
  ShellResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe)) result.out += buffer.data();
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace faceid::test
