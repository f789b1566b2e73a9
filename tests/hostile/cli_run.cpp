#include "cli_run.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "test_support.hpp"

namespace faceid::hostile {
namespace {

// $FACEID_HOSTILE_CLI runs the suite against another build (e.g. an older release's binary).
std::string cli_path() {
  const char* other = std::getenv("FACEID_HOSTILE_CLI");
  return other && *other ? other : FACEID_CLI_PATH;
}

struct Started {
  pid_t pid = -1;
  std::string out_path, err_path;
};

Started start(const std::string& gallery, const std::vector<std::string>& args, int limit_s) {
  static int serial = 0;
  const std::string dir = test::temp_dir("cli-run");
  Started run{-1, dir + "/out" + std::to_string(serial), dir + "/err" + std::to_string(serial)};
  ++serial;
  std::vector<std::string> argv_text = {cli_path(), "--gallery", gallery, "--model-dir", test::model_dir()};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  run.pid = fork();
  if (run.pid == 0) {
    const int out = ::open(run.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(run.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, 1);
    dup2(err, 2);
    alarm(static_cast<unsigned>(limit_s));  // survives exec: SIGALRM ends a hung run
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return run;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

CliRun finish(const Started& started) {
  CliRun run;
  int status = 0;
  rusage usage{};
  wait4(started.pid, &status, 0, &usage);
  run.peak_rss_kb = usage.ru_maxrss;
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  run.timed_out = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM;
  run.out = slurp(started.out_path);
  run.err = slurp(started.err_path);
  return run;
}

}  // namespace

CliRun run_cli(const std::string& gallery, const std::vector<std::string>& args, int limit_s) {
  return finish(start(gallery, args, limit_s));
}

std::vector<CliRun> run_cli_concurrently(const std::string& gallery,
                                         const std::vector<std::vector<std::string>>& args_of_each, int limit_s) {
  std::vector<Started> started;
  for (const auto& args : args_of_each) started.push_back(start(gallery, args, limit_s));
  std::vector<CliRun> runs;
  for (const auto& s : started) runs.push_back(finish(s));
  return runs;
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

}  // namespace faceid::hostile
