#pragma once
// Shared plumbing of the `faceid` command-line tool: global options, output format,
// and the registration function of every sub-command (one file each).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "faceid/config.hpp"

namespace faceid::cli {

enum class OutputFormat { kJson, kTable };

struct GlobalOptions {
  // The engine configuration: the keys of faceid/config.hpp, read from --config FILE.json,
  // then FACEID_* variables and --key-name flags (a later one wins). Set once parsing is done.
  EngineConfig config;
  std::string config_file;
  std::vector<std::pair<std::string, std::string>> flags;  // key, value as typed
  std::string format = "json";
  bool verbose = false;

  OutputFormat output_format() const;
  const EngineConfig& engine_config() const { return config; }
  void resolve_config();  // throws Error(kBadRequest) naming a bad key or value
};

// Registers --config and one flag per configuration key on `app` (--key-name; a boolean
// key also gets --no-key-name).
void add_config_flags(CLI::App& app, GlobalOptions& globals);

// Set by sub-commands; returned by main().
struct RunState {
  int exit_code = 0;
};

// Who the CLI's gallery writes are recorded as in the audit log: "cli:USER".
std::string cli_audit_actor();

// Prints one JSON object per line on stdout.
void print_json_line(const nlohmann::json& value);

// Every sub-command registers itself here (apps/cli/cmd_*.cpp).
void add_enroll_command(CLI::App& app, GlobalOptions& globals, RunState& state);
void add_identify_command(CLI::App& app, GlobalOptions& globals, RunState& state);
void add_verify_command(CLI::App& app, GlobalOptions& globals, RunState& state);
void add_gallery_commands(CLI::App& app, GlobalOptions& globals, RunState& state);
void add_models_commands(CLI::App& app, GlobalOptions& globals, RunState& state);
void add_watch_command(CLI::App& app, GlobalOptions& globals, RunState& state);
void add_capture_command(CLI::App& app, GlobalOptions& globals, RunState& state);
void add_eval_command(CLI::App& app, GlobalOptions& globals, RunState& state);
void add_serve_command(CLI::App& app, GlobalOptions& globals, RunState& state);
void add_keys_command(CLI::App& app, GlobalOptions& globals, RunState& state);
void add_check_command(CLI::App& app, GlobalOptions& globals, RunState& state);
// apps/cli/cmd_liveness.cpp: `faceid eval liveness` and `faceid calibrate --liveness`.
void add_eval_liveness_command(CLI::App* eval_cmd, GlobalOptions& globals, RunState& state);
void calibrate_liveness(const GlobalOptions& globals, const std::string& samples_manifest, const std::string& root,
                        double apcer, RunState& state);
// `--liveness` of identify, verify, enroll and watch.
void add_liveness_flag(CLI::App* cmd, bool& enabled);

}  // namespace faceid::cli
