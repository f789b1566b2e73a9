#pragma once
// Shared plumbing of the `faceid` command-line tool: global options, output format,
// and the registration function of every sub-command (one file each).
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "faceid/engine.hpp"

namespace faceid::cli {

enum class OutputFormat { kJson, kTable };

struct GlobalOptions {
  std::string gallery = default_gallery_path();
  std::string model_dir = default_model_dir();
  std::vector<std::string> extra_model_dirs;
  std::string manifest;
  std::string detector = EngineConfig{}.detector;
  std::string embedder = EngineConfig{}.embedder;
  std::string detector_file;
  std::string embedder_file;
  std::string metric = "cosine";
  std::string policy = "max";
  std::string index = "exact";
  std::string index_snapshot;
  std::string norm = score_norm_name(default_norm_options().norm);
  std::string cohort_gallery;
  std::optional<float> threshold;
  std::optional<float> det_threshold;  // DetectorOptions::score_threshold
  std::optional<int> min_face_size;
  bool no_align = false;
  bool flip = false;
  std::string liveness_model = LivenessOptions{}.model;
  std::string liveness_file;
  std::optional<float> liveness_threshold;
  std::string format = "json";
  bool verbose = false;

  OutputFormat output_format() const;
  EngineConfig engine_config() const;  // throws Error(kBadRequest) for bad names
};

// Set by sub-commands; returned by main().
struct RunState {
  int exit_code = 0;
};

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
