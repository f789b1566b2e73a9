// faceid eval liveness, faceid calibrate --liveness, and the --liveness flag of the commands.
#include <filesystem>
#include <iostream>
#include <map>

#include "cli.hpp"
#include "faceid/error.hpp"
#include "faceid/eval.hpp"
#include "output.hpp"

namespace faceid::cli {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<Engine> open_liveness_engine(const GlobalOptions& globals) {
  EngineConfig config = globals.engine_config();
  config.gallery = ":memory:";  // scores faces only: no gallery is read or written
  config.threshold = 0.f;
  config.liveness.enabled = true;
  return Engine::open(config);
}

std::vector<eval::LivenessScore> score_manifest(const Engine& engine, const std::string& samples_manifest,
                                                const std::string& root, bool progress) {
  const auto samples = eval::parse_liveness_manifest(samples_manifest, root);
  return eval::score_liveness(engine, samples, progress);
}

nlohmann::json metrics_json(const std::string& set, const eval::LivenessMetrics& m) {
  return {{"set", set},
          {"bona_fide", m.bona_fide},
          {"attacks", m.attacks},
          {"bona_fide_not_judged", m.bona_fide_not_judged},
          {"attacks_not_judged", m.attacks_not_judged},
          {"threshold", m.threshold},
          {"apcer", m.apcer},
          {"bpcer", m.bpcer},
          {"acer", m.acer},
          {"auc", m.auc},
          {"bpcer_at_apcer_10", m.at_apcer_10.rate},
          {"threshold_at_apcer_10", m.at_apcer_10.threshold},
          {"bpcer_at_apcer_5", m.at_apcer_5.rate},
          {"threshold_at_apcer_5", m.at_apcer_5.threshold},
          // Fewer than 1 / APCER attacks cannot resolve that APCER: the figure is then only indicative.
          {"apcer_5_resolvable", m.at_apcer_5.resolvable},
          {"apcer_by_attack_type", m.apcer_by_attack_type}};
}

std::string percent(double rate) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", rate * 100.0);
  return text;
}

}  // namespace

void add_liveness_flag(CLI::App* cmd, bool& enabled) {
  cmd->add_flag("--liveness", enabled,
                "Anti-spoofing: report a live score per face; a spoof is never named or enrolled");
}

void add_eval_liveness_command(CLI::App* eval_cmd, GlobalOptions& globals, RunState& state) {
  struct Options {
    std::string manifest, root, by, plot;
  };
  auto options = std::make_shared<Options>();
  auto* cmd = eval_cmd->add_subcommand(
      "liveness", "Presentation-attack detection (ISO/IEC 30107-3): APCER, BPCER, BPCER@APCER, ACER, AUC");
  cmd->add_option("--manifest", options->manifest, "Labelled images: TSV with path, label (real|spoof), "
                                                   "attack_type, source columns")
      ->required();
  cmd->add_option("--root", options->root, "Folder the image paths are relative to (default: the manifest's)");
  cmd->add_option("--by", options->by, "Also break the figures down by this column")
      ->check(CLI::IsMember({"source", "attack_type"}));
  cmd->add_option("--plot", options->plot, "Write the ROC curves (APCER vs 1 - BPCER) as PNG");
  cmd->callback([options, &globals, &state] {
    const auto engine = open_liveness_engine(globals);
    const auto scores = score_manifest(*engine, options->manifest, options->root, globals.verbose);
    const double threshold = engine->liveness_threshold();
    std::vector<std::pair<std::string, eval::LivenessMetrics>> sets{{"all", eval::liveness_metrics(scores, threshold)}};
    if (!options->by.empty()) {
      std::map<std::string, std::vector<eval::LivenessScore>> groups;
      for (const auto& s : scores)
        groups[options->by == "source" ? s.sample.source : s.sample.attack_type].push_back(s);
      for (const auto& [name, group] : groups) {
        try {
          sets.emplace_back(name, eval::liveness_metrics(group, threshold));
        } catch (const Error& e) {
          std::cerr << "group " << name << ": " << e.what() << "\n";  // e.g. attacks only
        }
      }
    }
    if (globals.output_format() == OutputFormat::kJson) {
      for (const auto& [name, m] : sets) {
        auto j = metrics_json(name, m);
        j["model"] = globals.config.liveness.model;
        j["detector"] = globals.config.detector;
        print_json_line(j);
      }
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& [name, m] : sets)
        rows.push_back({name, std::to_string(m.bona_fide) + "/" + std::to_string(m.attacks),
                        std::to_string(m.bona_fide_not_judged) + "/" + std::to_string(m.attacks_not_judged),
                        percent(m.apcer), percent(m.bpcer), percent(m.acer), percent(m.at_apcer_10.rate),
                        percent(m.at_apcer_5.rate), format_score(static_cast<float>(m.auc))});
      print_table({"SET", "REAL/ATTACK", "NOT JUDGED", "APCER %", "BPCER %", "ACER %", "BPCER@APCER10 %",
                   "BPCER@APCER5 %", "AUC"},
                  rows);
    }
    if (!options->plot.empty()) {
      std::vector<eval::NamedRoc> curves;
      for (const auto& [name, m] : sets) curves.push_back({name + " (AUC " + format_score(m.auc) + ")", m.roc});
      eval::write_roc_plot(options->plot, "liveness " + globals.config.liveness.model + ": APCER (x) vs 1 - BPCER (y)",
                           curves);
    }
    for (const auto& s : scores)
      if (!s.score && globals.verbose) std::cerr << "not judged: " << s.sample.path << ": " << s.reason << "\n";
    state.exit_code = 0;
  });
}

void calibrate_liveness(const GlobalOptions& globals, const std::string& samples_manifest, const std::string& root,
                        double apcer, RunState& state) {
  const auto engine = open_liveness_engine(globals);
  const auto scores = score_manifest(*engine, samples_manifest, root, globals.verbose);
  const double threshold = eval::liveness_threshold_at_apcer(scores, apcer);
  const eval::LivenessMetrics at = eval::liveness_metrics(scores, threshold);
  ModelManifest manifest = ModelManifest::for_model_dir(globals.config.model_dir);
  ModelSpec spec = manifest.get(globals.config.liveness.model);
  spec.thresholds["live"] = static_cast<float>(threshold);
  manifest.upsert(spec);
  fs::create_directories(globals.config.model_dir);
  const std::string manifest_path = (fs::path(globals.config.model_dir) / "manifest.json").string();
  manifest.save(manifest_path);
  const nlohmann::json j = {{"liveness_model", globals.config.liveness.model}, {"detector", globals.config.detector},
                            {"apcer_target", apcer}, {"threshold", threshold}, {"apcer", at.apcer},
                            {"bpcer", at.bpcer}, {"bona_fide", at.bona_fide}, {"attacks", at.attacks},
                            {"manifest", manifest_path}};
  if (globals.output_format() == OutputFormat::kJson) {
    print_json_line(j);
  } else {
    print_table({"MODEL", "APCER TARGET %", "THRESHOLD", "APCER %", "BPCER %", "MANIFEST"},
                {{globals.config.liveness.model, percent(apcer), format_score(static_cast<float>(threshold)), percent(at.apcer),
                  percent(at.bpcer), manifest_path}});
  }
  state.exit_code = 0;
}

}  // namespace faceid::cli
