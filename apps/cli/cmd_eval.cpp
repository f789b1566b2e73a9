// faceid eval verify | identify, faceid calibrate: flags in, the library's protocols
// (faceid/eval_protocol.hpp) run, tables and plots out.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli.hpp"
#include "faceid/error.hpp"
#include "faceid/eval_protocol.hpp"
#include "output.hpp"

namespace faceid::cli {

namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- options

struct GridFlags {
  bool enabled = false;
  std::vector<std::string> detectors, embedders, metrics, policies, align, flip;
};

struct EvalFlags {
  std::string root;
  int limit = 0;
  int threads = 0;
  std::string cache;
  bool no_cache = false;
  std::string by_group;
  std::string csv, markdown, plot, histogram;
  std::string group_plot;
  std::string norm = "none";
  std::string cohort;  // folder of other people's faces
  int cohort_top_k = NormOptions{}.top_k;
  GridFlags grid;
};

void add_shared_options(CLI::App* cmd, EvalFlags& options, bool with_grid) {
  cmd->add_option("--root", options.root, "Folder the image paths are relative to (default: the protocol file's)");
  cmd->add_option("--limit", options.limit, "Quick run: an evenly spread subset of N pairs / probes")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", options.threads, "Worker threads (default: every core)");
  cmd->add_option("--cache", options.cache, "Embedding cache file (default: <model-dir>/../cache/eval_cache.db)");
  cmd->add_flag("--no-cache", options.no_cache, "Compute every embedding afresh");
  cmd->add_option("--norm", options.norm, "Cohort score normalisation: none, znorm, tnorm, snorm, asnorm")
      ->capture_default_str();
  cmd->add_option("--cohort", options.cohort, "Folder of other people's faces for --norm (searched recursively)");
  cmd->add_option("--cohort-top-k", options.cohort_top_k, "Cohort scores kept by asnorm")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  if (!with_grid) return;
  cmd->add_option("--by-group", options.by_group, "Dataset manifest: break every figure down by its ethnicity column");
  cmd->add_option("--csv", options.csv, "Write the results table as CSV");
  cmd->add_option("--markdown", options.markdown, "Write the results (tables, groups, failures) as Markdown");
  cmd->add_flag("--grid", options.grid.enabled,
                "Every combination of detectors x embedders x metrics x policies x align x flip");
  cmd->add_option("--detectors", options.grid.detectors, "Grid detectors (default: all in the manifest)")
      ->delimiter(',');
  cmd->add_option("--embedders", options.grid.embedders, "Grid embedders (default: all in the manifest)")
      ->delimiter(',');
  cmd->add_option("--metrics", options.grid.metrics, "Grid metrics (default: cosine,euclidean,euclidean_l2)")
      ->delimiter(',');
  cmd->add_option("--align", options.grid.align, "Grid alignment settings: on,off (default both)")->delimiter(',');
  cmd->add_option("--flip", options.grid.flip, "Grid flip test-time augmentation: on,off (default both)")
      ->delimiter(',');
}

bool parse_switch(const std::string& value) {
  if (value == "on" || value == "true" || value == "1") return true;
  if (value == "off" || value == "false" || value == "0") return false;
  throw Error(ErrorCode::kBadRequest, "expected on or off, got '" + value + "'");
}

eval::Grid grid_of(const GridFlags& flags) {
  eval::Grid grid;
  grid.enabled = flags.enabled;
  grid.detectors = flags.detectors;
  grid.embedders = flags.embedders;
  for (const auto& name : flags.metrics) grid.metrics.push_back(metric_from_name(name, "--metrics"));
  for (const auto& name : flags.policies) grid.policies.push_back(match_policy_from_name(name, "--policies"));
  for (const auto& value : flags.align) grid.align.push_back(parse_switch(value));
  for (const auto& value : flags.flip) grid.flip.push_back(parse_switch(value));
  return grid;
}

// The request every protocol shares, from the global options and the command's flags.
void fill_protocol(eval::ProtocolOptions& request, const GlobalOptions& globals, const EvalFlags& flags) {
  request.base = globals.engine_config();
  request.root = flags.root;
  request.limit = flags.limit;
  request.threads = flags.threads;
  if (flags.no_cache) request.cache_path = "";
  else if (!flags.cache.empty()) request.cache_path = flags.cache;
  request.group_manifest = flags.by_group;
  request.norm.norm = score_norm_from_name(flags.norm, "--norm");
  request.norm.top_k = flags.cohort_top_k;
  request.cohort_dir = flags.cohort;
  request.grid = grid_of(flags.grid);
}


// ---------------------------------------------------------------- formatting

std::string percent(double value, int decimals = 2) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(decimals);
  out << value * 100.0;
  return out.str();
}

std::string fixed(double value, int decimals = 4) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(decimals);
  out << value;
  return out.str();
}

std::string rate_label(double rate) {
  std::ostringstream out;
  out << rate;
  return out.str();
}

std::string operating_cell(const eval::OperatingPoint& point) {
  return point.resolvable ? percent(point.rate) : "n/a";
}

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  std::string markdown() const {
    std::ostringstream out;
    auto line = [&out](const std::vector<std::string>& cells) {
      out << "|";
      for (const auto& cell : cells) out << " " << cell << " |";
      out << "\n";
    };
    line(header);
    out << "|";
    for (std::size_t i = 0; i < header.size(); ++i) out << "---|";
    out << "\n";
    for (const auto& row : rows) line(row);
    return out.str();
  }

  std::string csv() const {
    std::ostringstream out;
    auto line = [&out](const std::vector<std::string>& cells) {
      for (std::size_t i = 0; i < cells.size(); ++i) {
        const bool quote = cells[i].find_first_of(",\"") != std::string::npos;
        std::string cell = cells[i];
        for (std::size_t p = cell.find('"'); p != std::string::npos; p = cell.find('"', p + 2)) cell.insert(p, "\"");
        out << (i ? "," : "") << (quote ? "\"" + cell + "\"" : cell);
      }
      out << "\n";
    };
    line(header);
    for (const auto& row : rows) line(row);
    return out.str();
  }
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw Error(ErrorCode::kIo, "cannot write " + path);
}

void print_failures(std::ostream& out, const std::vector<eval::FailedImage>& failures) {
  if (failures.empty()) return;
  out << "\nImages without a usable face (" << failures.size() << "); every pair or search using one counts as an error:\n\n";
  for (const auto& failure : failures) out << "- `" << failure.image << "` " << failure.status << " (" << failure.setting << ")\n";
}

// A protocol's report: JSON lines (results, then failed images) or its Markdown on stdout, notes
// on stderr, and the --csv / --markdown files asked for.
template <typename Report>
void output_report(const Report& report, const std::string& markdown, const Table& table, const EvalFlags& flags,
                   const GlobalOptions& globals) {
  for (const auto& note : report.notes) std::cerr << note << "\n";
  if (globals.output_format() == OutputFormat::kJson) {
    for (const auto& r : report.rows) print_json_line(eval::to_json(r));
    for (const auto& f : report.failures) print_json_line(eval::to_json(f));
  } else {
    std::cout << markdown;
  }
  if (!flags.csv.empty()) write_text(flags.csv, table.csv());
  if (!flags.markdown.empty()) write_text(flags.markdown, markdown);
}

// ---------------------------------------------------------------- eval verify

const std::vector<double> kFars = {1e-1, 1e-2, 1e-3, 1e-4};

std::string row_label(const eval::VerificationRow& r) {
  return r.setting.label() + " " + threshold_key(r.metric, r.norm);
}

Table shipped_table(const eval::VerificationRow& result) {
  Table table;
  table.header = {"threshold", "value", "group", "genuine", "impostor", "TAR %", "FAR %"};
  for (const auto& report : result.shipped) {
    table.rows.push_back({report.name, fixed(report.threshold), "**all**", "", "", percent(report.overall.tar),
                          percent(report.overall.far)});
    for (const auto& g : report.groups)
      table.rows.push_back({"", "", g.group, std::to_string(g.genuine), std::to_string(g.impostor),
                            percent(g.rates.tar), percent(g.rates.far)});
    table.rows.push_back({"", "", "**max-group FAR / overall FAR**", "", "", "",
                          report.overall.far > 0 ? fixed(report.far_ratio, 2) : "n/a (no impostor accepted)"});
  }
  return table;
}

Table verify_table(const std::vector<eval::VerificationRow>& results) {
  Table table;
  table.header = {"detector", "embedder", "align", "flip", "metric", "accuracy % (mean ± std)", "AUC", "EER %"};
  for (double far : kFars) table.header.push_back("TAR@FAR=" + rate_label(far) + " %");
  table.header.push_back("failed pairs");
  for (const auto& r : results) {
    const auto& s = r.summary;
    std::vector<std::string> row = {r.setting.detector, r.setting.embedder, r.setting.align ? "on" : "off",
                                    r.setting.flip ? "on" : "off", threshold_key(r.metric, r.norm),
                                    s.accuracy ? percent(s.accuracy->mean) + " ± " + percent(s.accuracy->std) : "n/a",
                                    fixed(s.auc), percent(s.eer.rate)};
    for (const auto& point : s.tar_at_far) row.push_back(operating_cell(point));
    row.push_back(std::to_string(s.failed_genuine + s.failed_impostor));
    table.rows.push_back(row);
  }
  return table;
}

Table group_table(const eval::VerificationRow& result) {
  Table table;
  const std::string at = result.operating_point ? rate_label(result.operating_point->target) : "?";
  table.header = {"group", "pairs", "accuracy %", "AUC", "EER %", "TAR % at overall FAR=" + at + " threshold",
                  "FAR % there"};
  std::vector<double> accuracy, auc, eer, tar, far;
  for (const auto& g : result.groups) {
    if (!g.summary) {
      table.rows.push_back({g.group, std::to_string(g.pairs), "one class only", "", "", "", ""});
      continue;
    }
    const auto& s = *g.summary;
    const std::string acc = s.accuracy ? percent(s.accuracy->mean) : "n/a";
    table.rows.push_back({g.group, std::to_string(g.pairs), acc, fixed(s.auc), percent(s.eer.rate),
                          result.operating_point ? percent(g.at_operating.tar) : "n/a",
                          result.operating_point ? percent(g.at_operating.far) : "n/a"});
    if (s.accuracy) accuracy.push_back(s.accuracy->mean);
    auc.push_back(s.auc);
    eer.push_back(s.eer.rate);
    tar.push_back(g.at_operating.tar);
    far.push_back(g.at_operating.far);
  }
  table.rows.push_back({"**max − min gap**", "", percent(eval::max_min_gap(accuracy)), fixed(eval::max_min_gap(auc)),
                        percent(eval::max_min_gap(eer)), percent(eval::max_min_gap(tar)),
                        percent(eval::max_min_gap(far))});
  return table;
}

// The results table, each row's groups (with the shipped thresholds) and the failed images.
std::string verify_markdown(const eval::VerificationReport& report) {
  std::ostringstream md;
  md << verify_table(report.rows).markdown();
  for (const auto& r : report.rows) {
    if (r.groups.empty()) continue;
    md << "\n" << row_label(r) << " by group:\n\n" << group_table(r).markdown();
    if (!r.shipped.empty())
      md << "\nAt the thresholds the product ships (" << score_norm_name(r.norm) << "):\n\n"
         << shipped_table(r).markdown();
  }
  print_failures(md, report.failures);
  return md.str();
}

struct VerifyFlags {
  EvalFlags eval;
  std::vector<std::string> files;
  int folds = 10;
};

void write_verify_plots(const VerifyFlags& flags, const eval::VerificationReport& report) {
  const auto& files = flags.files;
  std::string title =
      fs::path(files.front()).parent_path().filename().string() + "/" + fs::path(files.front()).filename().string();
  if (files.size() > 1) title += " + " + std::to_string(files.size() - 1) + " more";
  if (!flags.eval.plot.empty()) {
    std::vector<eval::NamedRoc> curves;
    const Metric first_metric = report.rows.front().metric;
    const bool several_metrics = std::any_of(report.rows.begin(), report.rows.end(),
                                             [&](const auto& r) { return r.metric != first_metric; });
    for (const auto& r : report.rows)
      if (r.metric == first_metric)
        curves.push_back({r.setting.label() + (several_metrics ? " " + std::string(metric_name(r.metric)) : ""),
                          r.summary.roc});
    eval::write_roc_plot(flags.eval.plot, "ROC: " + title, curves);
  }
  if (!flags.eval.group_plot.empty()) {
    std::vector<eval::NamedRoc> curves;
    for (const auto& r : report.rows) curves.insert(curves.end(), r.group_curves.begin(), r.group_curves.end());
    if (curves.empty()) throw Error(ErrorCode::kBadRequest, "--group-plot needs groups (--by-group or several --pairs)");
    eval::write_roc_plot(flags.eval.group_plot, "ROC by group: " + title, curves);
  }
  if (!flags.eval.histogram.empty()) {
    const auto& first = report.rows.front();
    const auto& point = first.operating_point;
    eval::write_score_histogram(flags.eval.histogram, title + ": " + first.setting.label() + " " + metric_name(first.metric),
                                first.scored, point ? std::optional<double>(point->threshold) : std::nullopt,
                                point ? "threshold at FAR=" + rate_label(point->target) : "");
  }
}

void run_verify(const VerifyFlags& flags, const GlobalOptions& globals) {
  eval::VerificationRequest request;
  fill_protocol(request, globals, flags.eval);
  request.pair_files = flags.files;
  request.folds = flags.folds;
  request.fars = kFars;
  const auto report = eval::run_verification(request);
  output_report(report, verify_markdown(report), verify_table(report.rows), flags.eval, globals);
  write_verify_plots(flags, report);
}

void add_verify(CLI::App* eval_cmd, GlobalOptions& globals, RunState& state) {
  auto flags = std::make_shared<VerifyFlags>();
  auto* cmd = eval_cmd->add_subcommand("verify", "1:1 verification accuracy on pair lists (LFW protocol)");
  cmd->add_option("--pairs", flags->files, "Pairs file(s): LFW pairs.txt or `pathA pathB 1|0 [fold]`; several = one group each")
      ->required();
  cmd->add_option("--folds", flags->folds, "Folds for files that give none (contiguous blocks)")->capture_default_str()
      ->check(CLI::Range(2, 1000));
  cmd->add_option("--plot", flags->eval.plot, "Write ROC curves (PNG, log-scale FAR)");
  cmd->add_option("--histogram", flags->eval.histogram, "Write genuine/impostor score histograms (PNG)");
  cmd->add_option("--group-plot", flags->eval.group_plot, "Write one ROC curve per group in one plot (PNG)");
  add_shared_options(cmd, flags->eval, true);
  cmd->callback([flags, &globals, &state] {
    run_verify(*flags, globals);
    state.exit_code = 0;
  });
}

// ---------------------------------------------------------------- eval identify

std::vector<int> parse_gallery_sizes(const std::vector<std::string>& values) {
  std::vector<int> sizes;
  for (const auto& value : values) {
    if (value == "all") {
      sizes.push_back(0);
      continue;
    }
    try {
      const int size = std::stoi(value);
      if (size < 1) throw std::invalid_argument(value);
      sizes.push_back(size);
    } catch (const std::exception&) {
      throw Error(ErrorCode::kBadRequest, "a gallery size must be a positive number or `all`, got '" + value + "'");
    }
  }
  return sizes;
}

std::string gallery_size_text(int size) { return size > 0 ? std::to_string(size) : "all"; }

Table identify_table(const std::vector<eval::IdentificationRow>& results) {
  Table table;
  table.header = {"detector", "embedder", "align", "flip", "metric", "policy", "photos/person", "people",
                  "rank-1 %", "rank-5 %", "FNIR@FPIR=0.1 %", "FNIR@FPIR=0.01 %", "failed probes"};
  for (const auto& r : results) {
    const auto& s = r.summary;
    std::vector<std::string> row = {r.setting.detector, r.setting.embedder, r.setting.align ? "on" : "off",
                                    r.setting.flip ? "on" : "off", threshold_key(r.metric, r.norm),
                                    match_policy_name(r.policy), gallery_size_text(r.gallery_size),
                                    std::to_string(r.enrolled_people), percent(s.rank1), percent(s.rank5)};
    for (std::size_t i = 0; i < 2; ++i) row.push_back(i < s.fnir_at_fpir.size() ? operating_cell(s.fnir_at_fpir[i]) : "n/a");
    row.push_back(std::to_string(s.failed_mated + s.failed_non_mated));
    table.rows.push_back(row);
  }
  return table;
}

Table identify_group_table(const eval::IdentificationRow& r) {
  Table groups;
  groups.header = {"group", "known probes", "rank-1 %", "FNIR % at overall FPIR=0.01 threshold", "FPIR % there"};
  std::vector<double> rank1, fnir, fpir;
  for (const auto& [group, s] : r.groups) {
    std::vector<std::string> cells = {group, std::to_string(s.mated), percent(s.rank1), "", ""};
    for (const auto& [rate_group, rates] : r.group_rates)
      if (rate_group == group) {
        cells[3] = percent(rates.fnir);
        cells[4] = percent(rates.fpir);
        fnir.push_back(rates.fnir);
        fpir.push_back(rates.fpir);
      }
    rank1.push_back(s.rank1);
    groups.rows.push_back(cells);
  }
  for (const auto& [group, rate] : r.stranger_fpir) {
    groups.rows.push_back({group, "0 (strangers only)", "", "", percent(rate)});
    fpir.push_back(rate);
  }
  groups.rows.push_back({"**max − min gap**", "", percent(eval::max_min_gap(rank1)), percent(eval::max_min_gap(fnir)),
                         percent(eval::max_min_gap(fpir))});
  return groups;
}

std::string identify_markdown(const eval::IdentificationReport& report) {
  std::ostringstream md;
  md << identify_table(report.rows).markdown();
  for (const auto& r : report.rows)
    if (!r.groups.empty() || !r.stranger_fpir.empty())
      md << "\n" << r.setting.label() << " " << threshold_key(r.metric, r.norm) << " " << match_policy_name(r.policy)
         << ", " << gallery_size_text(r.gallery_size) << " photos/person, by group:\n\n"
         << identify_group_table(r).markdown();
  print_failures(md, report.failures);
  return md.str();
}

struct IdentifyFlags {
  EvalFlags eval;
  std::string protocol_file, unknown_dir;
  std::vector<std::string> sizes{"1", "5", "20", "all"};
};

void run_identify(const IdentifyFlags& flags, const GlobalOptions& globals) {
  eval::IdentificationRequest request;
  fill_protocol(request, globals, flags.eval);
  request.protocol_file = flags.protocol_file;
  request.unknown_dir = flags.unknown_dir;
  request.gallery_sizes = parse_gallery_sizes(flags.sizes);
  const auto report = eval::run_identification(request);
  output_report(report, identify_markdown(report), identify_table(report.rows), flags.eval, globals);
}

void add_identify(CLI::App* eval_cmd, GlobalOptions& globals, RunState& state) {
  auto flags = std::make_shared<IdentifyFlags>();
  auto* cmd = eval_cmd->add_subcommand("identify", "1:N open-set identification (rank-k, FNIR at FPIR)");
  cmd->add_option("--protocol", flags->protocol_file, "identification_protocol.tsv (path, identity, role)")->required();
  cmd->add_option("--unknown-dir", flags->unknown_dir, "Folder of extra never-enrolled faces (searched recursively)");
  cmd->add_option("--gallery-sizes", flags->sizes, "Photos enrolled per person, e.g. 1,5,20,all")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--policies", flags->eval.grid.policies, "Grid match policies: max,mean,topk (default all)")
      ->delimiter(',');
  add_shared_options(cmd, flags->eval, true);
  cmd->callback([flags, &globals, &state] {
    run_identify(*flags, globals);
    state.exit_code = 0;
  });
}

// ---------------------------------------------------------------- calibrate

struct CalibrateFlags {
  EvalFlags eval;
  std::vector<std::string> files;
  double far = 1e-3;
  bool liveness = false;
  double apcer = 0.05;
  std::string liveness_manifest;
};

void run_calibrate(const CalibrateFlags& flags, const GlobalOptions& globals) {
  eval::CalibrationRequest request;
  fill_protocol(request, globals, flags.eval);
  request.pair_files = flags.files;
  request.far = flags.far;
  const auto c = eval::calibrate_threshold(request);
  if (globals.output_format() == OutputFormat::kJson) {
    print_json_line(eval::to_json(c));
    return;
  }
  print_table({"EMBEDDER", "METRIC", "FAR", "THRESHOLD", "EXPECTED TAR", "PAIRS", "MANIFEST"},
              {{c.embedder, c.threshold_key, rate_label(c.far), fixed(c.threshold, 4), percent(c.expected_tar) + "%",
                std::to_string(c.pairs), c.manifest}});
}

void add_calibrate(CLI::App& app, GlobalOptions& globals, RunState& state) {
  auto flags = std::make_shared<CalibrateFlags>();
  auto* cmd = app.add_subcommand(
      "calibrate", "Pick the threshold for a target false accept rate and write it into <model-dir>/manifest.json");
  cmd->add_option("--pairs", flags->files, "Pairs file(s) with enough impostor pairs (>= 1/FAR)");
  cmd->add_option("--far", flags->far, "Target false accept rate")->capture_default_str()->check(CLI::Range(1e-9, 1.0));
  cmd->add_flag("--liveness", flags->liveness, "Calibrate the liveness model's live threshold instead");
  cmd->add_option("--apcer", flags->apcer, "With --liveness: target attack presentation classification error rate")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1.0));
  cmd->add_option("--manifest", flags->liveness_manifest, "With --liveness: labelled images (see `faceid eval liveness`)");
  add_shared_options(cmd, flags->eval, false);
  cmd->callback([flags, &globals, &state] {
    if (flags->liveness) {
      if (flags->liveness_manifest.empty()) throw Error(ErrorCode::kBadRequest, "--liveness needs --manifest FILE");
      calibrate_liveness(globals, flags->liveness_manifest, flags->eval.root, flags->apcer, state);
      return;
    }
    if (flags->files.empty()) throw Error(ErrorCode::kBadRequest, "--pairs is required");
    run_calibrate(*flags, globals);
    state.exit_code = 0;
  });
}

}  // namespace

void add_eval_command(CLI::App& app, GlobalOptions& globals, RunState& state) {
  auto* eval_cmd = app.add_subcommand("eval", "Measure accuracy on protocol files (verification, identification)");
  eval_cmd->require_subcommand(1);
  add_verify(eval_cmd, globals, state);
  add_identify(eval_cmd, globals, state);
  add_eval_liveness_command(eval_cmd, globals, state);
  add_calibrate(app, globals, state);
}

}  // namespace faceid::cli
