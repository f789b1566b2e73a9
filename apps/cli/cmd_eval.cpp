// faceid eval verify | identify, faceid calibrate: measured accuracy on real protocol files.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "cli.hpp"
#include "faceid/error.hpp"
#include "faceid/eval.hpp"
#include "faceid/eval_cohort.hpp"
#include "output.hpp"

namespace faceid::cli {

namespace {

namespace fs = std::filesystem;
using eval::ImageFace;

// ---------------------------------------------------------------- options

struct GridOptions {
  bool enabled = false;
  std::vector<std::string> detectors, embedders, metrics, policies, align, flip;
};

struct EvalOptions {
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
  GridOptions grid;

  NormOptions norm_options() const {
    NormOptions options;
    options.norm = score_norm_from_name(norm, "--norm");
    options.top_k = cohort_top_k;
    return options;
  }
};

void add_shared_options(CLI::App* cmd, EvalOptions& options, bool with_grid) {
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

// One way of computing embeddings: everything that changes the vectors.
struct EmbedSetting {
  std::string detector, embedder;
  bool align = true, flip = false;
  std::string label() const {
    return detector + "/" + embedder + (align ? "" : " noalign") + (flip ? " flip" : "");
  }
};

bool parse_switch(const std::string& value) {
  if (value == "on" || value == "true" || value == "1") return true;
  if (value == "off" || value == "false" || value == "0") return false;
  throw Error(ErrorCode::kBadRequest, "expected on or off, got '" + value + "'");
}

ModelManifest manifest_of(const EngineConfig& config) {
  return config.manifest_path.empty() ? ModelManifest::for_model_dir(config.model_dir)
                                      : ModelManifest::load(config.manifest_path);
}

std::vector<std::string> manifest_names(const EngineConfig& config, ModelKind kind) {
  const auto manifest = manifest_of(config);
  std::vector<std::string> names;
  for (const auto& spec : manifest.models())
    if (spec.kind == kind) names.push_back(spec.name);
  return names;
}

std::vector<EmbedSetting> embed_settings(const GlobalOptions& globals, const GridOptions& grid) {
  const EngineConfig base = globals.engine_config();
  if (!grid.enabled) return {{base.detector, base.embedder, base.align, base.embedding.flip_augment}};
  const auto detectors = grid.detectors.empty() ? manifest_names(base, ModelKind::kDetector) : grid.detectors;
  const auto embedders = grid.embedders.empty() ? manifest_names(base, ModelKind::kEmbedder) : grid.embedders;
  const std::vector<std::string> both_align{"on", "off"}, both_flip{"off", "on"};
  std::vector<EmbedSetting> settings;
  for (const auto& detector : detectors)
    for (const auto& embedder : embedders)
      for (const auto& align : grid.align.empty() ? both_align : grid.align)
        for (const auto& flip : grid.flip.empty() ? both_flip : grid.flip)
          settings.push_back({detector, embedder, parse_switch(align), parse_switch(flip)});
  return settings;
}

std::vector<Metric> metrics_of(const GlobalOptions& globals, const GridOptions& grid) {
  if (!grid.enabled || grid.metrics.empty()) {
    if (grid.enabled) return {Metric::kCosine, Metric::kEuclidean, Metric::kEuclideanL2};
    return {globals.engine_config().matching.metric};
  }
  std::vector<Metric> metrics;
  for (const auto& name : grid.metrics) metrics.push_back(metric_from_name(name, "--metrics"));
  return metrics;
}

// An engine for one setting. Evaluation picks its own thresholds and needs no gallery on disk.
std::unique_ptr<Engine> open_engine(const GlobalOptions& globals, const EmbedSetting& setting, bool grid) {
  EngineConfig config = globals.engine_config();
  config.gallery = ":memory:";
  config.threshold = 0.f;
  config.detector = setting.detector;
  config.embedder = setting.embedder;
  config.align = setting.align;
  config.embedding.flip_augment = setting.flip;
  if (grid) config.detector_file.clear(), config.embedder_file.clear();
  return Engine::open(config);
}

bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp";
}

std::string resolve(const std::string& root, const std::string& path) {
  return fs::path(path).is_absolute() ? path : (fs::path(root) / path).string();
}

// Every image under `dir`, sorted.
std::vector<std::string> image_files(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error(ErrorCode::kNotFound, "no folder " + dir);
  std::vector<std::string> files;
  for (const auto& item : fs::recursive_directory_iterator(dir))
    if (item.is_regular_file() && is_image_file(item.path())) files.push_back(item.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// Evenly spread indices: keeps the classes and folds of ordered protocol files.
template <typename T>
std::vector<T> spread_subset(const std::vector<T>& items, int limit) {
  if (limit <= 0 || static_cast<std::size_t>(limit) >= items.size()) return items;
  std::vector<T> subset;
  for (int i = 0; i < limit; ++i) subset.push_back(items[std::size_t(i) * items.size() / std::size_t(limit)]);
  return subset;
}

// Embeds the distinct images of `paths` (already resolved) once.
std::map<std::string, ImageFace> embed_all(const Engine& engine, const std::vector<std::string>& paths,
                                           const EvalOptions& options, const GlobalOptions& globals,
                                           const std::string& label) {
  std::vector<std::string> unique;
  std::set<std::string> seen;
  for (const auto& path : paths)
    if (seen.insert(path).second) unique.push_back(path);
  eval::RunOptions run;
  run.threads = options.threads;
  run.cache_path = options.no_cache ? "" : options.cache.empty() ? eval::default_cache_path(globals.config.model_dir)
                                                                 : options.cache;
  run.label = label;
  const auto faces = eval::embed_images(engine, unique, run);
  const bool all_missing = std::all_of(faces.begin(), faces.end(),
                                       [](const ImageFace& face) { return face.status == eval::FaceStatus::kMissing; });
  if (!unique.empty() && all_missing)
    throw Error(ErrorCode::kNotFound, "none of the " + std::to_string(unique.size()) + " images exists (e.g. " +
                                          unique.front() + "): pass the dataset folder with --root");
  std::map<std::string, ImageFace> by_path;
  for (std::size_t i = 0; i < unique.size(); ++i) by_path.emplace(unique[i], faces[i]);
  return by_path;
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

nlohmann::json operating_json(const eval::OperatingPoint& point, const char* rate_name, const char* target_name) {
  return {{target_name, point.target}, {rate_name, point.rate}, {"threshold", point.threshold},
          {"achieved", point.achieved}, {"resolvable", point.resolvable}};
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

struct FailureNote {
  std::string image, status, where;
};

void print_failures(std::ostream& out, const std::vector<FailureNote>& failures) {
  if (failures.empty()) return;
  out << "\nImages without a usable face (" << failures.size() << "); every pair or search using one counts as an error:\n\n";
  for (const auto& failure : failures) out << "- `" << failure.image << "` " << failure.status << " (" << failure.where << ")\n";
}

// ---------------------------------------------------------------- eval verify

struct PairSet {
  std::vector<eval::PairEntry> pairs;
  std::vector<std::string> groups;  // one per pair
  std::vector<std::string> files;   // pairs file of each pair
  bool has_groups = false;
};

PairSet load_pairs(const std::vector<std::string>& files, int folds, const EvalOptions& options) {
  PairSet set;
  std::map<std::string, std::string> manifest;
  if (!options.by_group.empty()) manifest = eval::parse_group_manifest(options.by_group);
  for (const auto& file : files) {
    auto pairs = eval::parse_pairs_file(file);
    if (pairs.front().fold < 0) {
      // Files without folds: contiguous blocks, as LFW lays its folds out.
      for (std::size_t i = 0; i < pairs.size(); ++i)
        pairs[i].fold = static_cast<int>(i * std::size_t(folds) / pairs.size());
    }
    pairs = spread_subset(pairs, options.limit);
    const std::string root = options.root.empty() ? fs::path(file).parent_path().string() : options.root;
    for (auto& pair : pairs) {
      std::string group = fs::path(file).stem().string();
      if (!manifest.empty()) {
        const std::string a = eval::group_of(manifest, pair.path_a), b = eval::group_of(manifest, pair.path_b);
        group = a == b ? a : "mixed";
      }
      pair.path_a = resolve(root, pair.path_a);
      pair.path_b = resolve(root, pair.path_b);
      set.pairs.push_back(pair);
      set.groups.push_back(group);
      set.files.push_back(file);
    }
  }
  set.has_groups = !manifest.empty() || files.size() > 1;
  return set;
}

struct GroupRow {
  std::string group;
  int pairs = 0;
  std::optional<eval::VerificationSummary> summary;  // absent when one class is missing
  eval::VerificationRates at_operating;
};

struct VerifyResultRow {
  EmbedSetting setting;
  Metric metric = Metric::kCosine;
  eval::VerificationSummary summary;
  std::vector<GroupRow> groups;
  std::optional<eval::OperatingPoint> group_point;  // overall threshold the groups are compared at
  std::vector<eval::ThresholdByGroup> shipped;      // groups at the manifest's 1:1 and 1:N thresholds
  ScoreNorm norm = ScoreNorm::kNone;
  std::vector<eval::ScoredPair> scored;
};

// The groups read at the thresholds the product ships for this embedder, metric and normalisation.
std::vector<eval::ThresholdByGroup> shipped_by_group(const ModelManifest& manifest, const std::string& embedder,
                                                     Metric metric, ScoreNorm norm,
                                                     const std::vector<eval::ScoredPair>& scored,
                                                     const std::vector<std::string>& groups) {
  std::vector<eval::ThresholdByGroup> reports;
  if (!manifest.find(embedder)) return reports;
  const ModelSpec& spec = manifest.get(embedder);
  const std::string key = threshold_key(metric, norm);
  if (spec.thresholds.count(key))
    reports.push_back(eval::rates_by_group(scored, groups, metric, "1:1 (verify) " + key, spec.thresholds.at(key)));
  if (spec.identify_thresholds.count(key))
    reports.push_back(
        eval::rates_by_group(scored, groups, metric, "1:N (identify) " + key, spec.identify_thresholds.at(key)));
  return reports;
}

Table shipped_table(const VerifyResultRow& result) {
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

// The strictest FAR target the whole set can resolve (1e-3 preferred, as the team's operating point).
std::optional<eval::OperatingPoint> operating_point(const eval::VerificationSummary& summary) {
  std::optional<eval::OperatingPoint> chosen;
  for (const auto& point : summary.tar_at_far)
    if (point.resolvable && point.target >= 1e-3 && (!chosen || point.target < chosen->target)) chosen = point;
  return chosen;
}

std::vector<GroupRow> group_rows(const PairSet& set, const std::vector<eval::ScoredPair>& scored, bool hib,
                                 const std::optional<eval::OperatingPoint>& point) {
  std::map<std::string, std::vector<eval::ScoredPair>> by_group;
  for (std::size_t i = 0; i < scored.size(); ++i) by_group[set.groups[i]].push_back(scored[i]);
  std::vector<GroupRow> rows;
  for (const auto& [group, pairs] : by_group) {
    GroupRow row;
    row.group = group;
    row.pairs = static_cast<int>(pairs.size());
    const bool both = std::any_of(pairs.begin(), pairs.end(), [](const auto& p) { return p.genuine; }) &&
                      std::any_of(pairs.begin(), pairs.end(), [](const auto& p) { return !p.genuine; });
    if (both) {
      row.summary = eval::summarize_verification(pairs, hib);
      if (point) row.at_operating = eval::verification_rates(pairs, hib, point->threshold);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

const std::vector<double> kFars = {1e-1, 1e-2, 1e-3, 1e-4};

Table verify_table(const std::vector<VerifyResultRow>& results) {
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

Table group_table(const VerifyResultRow& result) {
  Table table;
  const std::string at = result.group_point ? rate_label(result.group_point->target) : "?";
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
                          result.group_point ? percent(g.at_operating.tar) : "n/a",
                          result.group_point ? percent(g.at_operating.far) : "n/a"});
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

std::string shipped_section(const VerifyResultRow& r) {
  if (r.shipped.empty()) return "";
  return "\nAt the thresholds the product ships (" + std::string(score_norm_name(r.norm)) + "):\n\n" +
         shipped_table(r).markdown();
}

nlohmann::json verify_json(const VerifyResultRow& r) {
  const auto& s = r.summary;
  nlohmann::json j = {{"detector", r.setting.detector}, {"embedder", r.setting.embedder},
                      {"align", r.setting.align},       {"flip", r.setting.flip},
                      {"metric", metric_name(r.metric)}, {"norm", score_norm_name(r.norm)}, {"pairs", s.pairs},
                      {"genuine", s.genuine},           {"impostor", s.impostor},
                      {"failed_genuine", s.failed_genuine}, {"failed_impostor", s.failed_impostor},
                      {"auc", s.auc},                   {"eer", s.eer.rate},
                      {"eer_threshold", s.eer.threshold}};
  if (s.accuracy) {
    nlohmann::json folds = nlohmann::json::array();
    for (const auto& fold : s.accuracy->folds)
      folds.push_back({{"fold", fold.fold + 1}, {"pairs", fold.pairs}, {"threshold", fold.threshold},
                       {"accuracy", fold.accuracy}});
    j["accuracy"] = {{"mean", s.accuracy->mean}, {"std", s.accuracy->std}, {"folds", folds}};
  }
  j["tar_at_far"] = nlohmann::json::array();
  for (const auto& point : s.tar_at_far) j["tar_at_far"].push_back(operating_json(point, "tar", "far"));
  if (!r.groups.empty()) {
    j["groups"] = nlohmann::json::array();
    for (const auto& g : r.groups) {
      nlohmann::json gj = {{"group", g.group}, {"pairs", g.pairs}};
      if (g.summary) {
        if (g.summary->accuracy) gj["accuracy"] = g.summary->accuracy->mean;
        gj["auc"] = g.summary->auc;
        gj["eer"] = g.summary->eer.rate;
        if (r.group_point) gj["at_overall_threshold"] = {{"tar", g.at_operating.tar}, {"far", g.at_operating.far}};
      }
      j["groups"].push_back(gj);
    }
    if (r.group_point) j["group_threshold"] = operating_json(*r.group_point, "tar", "far");
    for (const auto& report : r.shipped) {
      nlohmann::json sj = {{"name", report.name}, {"threshold", report.threshold}, {"tar", report.overall.tar},
                           {"far", report.overall.far}, {"max_group_far", report.max_group_far},
                           {"far_ratio", report.far_ratio}};
      for (const auto& g : report.groups) sj["groups"][g.group] = {{"tar", g.rates.tar}, {"far", g.rates.far}};
      j["shipped_thresholds"].push_back(sj);
    }
  }
  return j;
}

std::vector<FailureNote> image_failures(const std::map<std::string, ImageFace>& faces, const std::string& where) {
  std::vector<FailureNote> notes;
  for (const auto& [path, face] : faces)
    if (face.status != eval::FaceStatus::kOk) notes.push_back({path, eval::face_status_name(face.status), where});
  return notes;
}

// Embeds `paths` under every configuration of the run (one, or the grid's), handing each
// configuration's faces to `use`. In a grid, a configuration whose models cannot be
// opened here is skipped with a message; failed images are collected in `failures`.
void for_each_setting(const GlobalOptions& globals, const EvalOptions& options, const std::vector<std::string>& paths,
                      std::vector<FailureNote>& failures,
                      const std::function<void(const EmbedSetting&, const std::map<std::string, ImageFace>&)>& use) {
  for (const auto& setting : embed_settings(globals, options.grid)) {
    std::unique_ptr<Engine> engine;
    try {
      engine = open_engine(globals, setting, options.grid.enabled);
    } catch (const Error& e) {
      if (!options.grid.enabled) throw;
      std::cerr << "skipping " << setting.label() << ": " << e.what() << "\n";
      continue;
    }
    const auto faces = embed_all(*engine, paths, options, globals, setting.label());
    for (auto& note : image_failures(faces, setting.label())) failures.push_back(note);
    use(setting, faces);
  }
}

void add_verify(CLI::App* eval_cmd, GlobalOptions& globals, RunState& state) {
  auto options = std::make_shared<EvalOptions>();
  auto files = std::make_shared<std::vector<std::string>>();
  auto folds = std::make_shared<int>(10);
  auto* cmd = eval_cmd->add_subcommand("verify", "1:1 verification accuracy on pair lists (LFW protocol)");
  cmd->add_option("--pairs", *files, "Pairs file(s): LFW pairs.txt or `pathA pathB 1|0 [fold]`; several = one group each")
      ->required();
  cmd->add_option("--folds", *folds, "Folds for files that give none (contiguous blocks)")->capture_default_str()
      ->check(CLI::Range(2, 1000));
  cmd->add_option("--plot", options->plot, "Write ROC curves (PNG, log-scale FAR)");
  cmd->add_option("--histogram", options->histogram, "Write genuine/impostor score histograms (PNG)");
  cmd->add_option("--group-plot", options->group_plot, "Write one ROC curve per group in one plot (PNG)");
  add_shared_options(cmd, *options, true);
  cmd->callback([options, files, folds, &globals, &state] {
    const PairSet set = load_pairs(*files, *folds, *options);
    const NormOptions norm = options->norm_options();
    const auto cohort_paths = options->cohort.empty() ? std::vector<std::string>{} : image_files(options->cohort);
    std::vector<std::string> paths = cohort_paths;
    for (const auto& pair : set.pairs) paths.insert(paths.end(), {pair.path_a, pair.path_b});
    const auto metrics = metrics_of(globals, options->grid);
    const ModelManifest manifest = manifest_of(globals.engine_config());
    std::vector<VerifyResultRow> results;
    std::vector<FailureNote> failures;
    std::vector<eval::NamedRoc> curves, group_curves;
    for_each_setting(globals, *options, paths, failures, [&](const EmbedSetting& setting, const auto& faces) {
      for (Metric metric : metrics) {
        VerifyResultRow row;
        row.norm = norm.norm;
        row.setting = setting;
        row.metric = metric;
        row.scored = eval::score_pairs(set.pairs, faces, metric, eval::usable_embeddings(cohort_paths, faces),
                                       norm);
        const bool hib = higher_is_better(metric);
        row.summary = eval::summarize_verification(row.scored, hib, kFars);
        if (set.has_groups) {
          row.group_point = operating_point(row.summary);
          row.groups = group_rows(set, row.scored, hib, row.group_point);
          row.shipped = shipped_by_group(manifest, setting.embedder, metric, norm.norm, row.scored, set.groups);
          if (metric == metrics.front() && !options->group_plot.empty()) {
            std::map<std::string, std::vector<eval::ScoredPair>> by_group;
            for (std::size_t i = 0; i < row.scored.size(); ++i) by_group[set.groups[i]].push_back(row.scored[i]);
            for (const auto& [group, pairs] : by_group)
              if (std::any_of(pairs.begin(), pairs.end(), [](const auto& p) { return p.genuine; }) &&
                  std::any_of(pairs.begin(), pairs.end(), [](const auto& p) { return !p.genuine; }))
                group_curves.push_back({setting.label() + " " + group, eval::roc_curve(pairs, hib)});
          }
        }
        if (metric == metrics.front())
          curves.push_back({setting.label() + (metrics.size() > 1 ? " " + std::string(metric_name(metric)) : ""),
                            row.summary.roc});
        results.push_back(std::move(row));
      }
    });
    if (results.empty()) throw Error(ErrorCode::kModelInvalid, "no configuration of the grid could be loaded");

    const Table table = verify_table(results);
    if (globals.output_format() == OutputFormat::kJson) {
      for (const auto& r : results) print_json_line(verify_json(r));
      for (const auto& f : failures) print_json_line({{"failure", f.image}, {"status", f.status}, {"config", f.where}});
    } else {
      std::cout << table.markdown();
      for (const auto& r : results)
        if (!r.groups.empty())
          std::cout << "\n" << r.setting.label() << " " << threshold_key(r.metric, r.norm) << " by group:\n\n"
                    << group_table(r).markdown() << shipped_section(r);
      print_failures(std::cout, failures);
    }
    if (!options->csv.empty()) write_text(options->csv, table.csv());
    if (!options->markdown.empty()) {
      std::ostringstream md;
      md << table.markdown();
      for (const auto& r : results)
        if (!r.groups.empty())
          md << "\n" << r.setting.label() << " " << threshold_key(r.metric, r.norm) << " by group:\n\n" << group_table(r).markdown()
             << shipped_section(r);
      print_failures(md, failures);
      write_text(options->markdown, md.str());
    }
    std::string title = fs::path(files->front()).parent_path().filename().string() + "/" +
                        fs::path(files->front()).filename().string();
    if (files->size() > 1) title += " + " + std::to_string(files->size() - 1) + " more";
    if (!options->plot.empty()) eval::write_roc_plot(options->plot, "ROC: " + title, curves);
    if (!options->group_plot.empty()) {
      if (group_curves.empty()) throw Error(ErrorCode::kBadRequest, "--group-plot needs groups (--by-group or several --pairs)");
      eval::write_roc_plot(options->group_plot, "ROC by group: " + title, group_curves);
    }
    if (!options->histogram.empty()) {
      const auto& first = results.front();
      const auto point = operating_point(first.summary);
      eval::write_score_histogram(options->histogram,
                                  title + ": " + first.setting.label() + " " + metric_name(first.metric),
                                  first.scored, point ? std::optional<double>(point->threshold) : std::nullopt,
                                  point ? "threshold at FAR=" + rate_label(point->target) : "");
    }
    state.exit_code = 0;
  });
}

// ---------------------------------------------------------------- eval identify

struct Probe {
  std::string path, identity, group;
  bool known = false;
};

struct IdentifyRow {
  EmbedSetting setting;
  Metric metric = Metric::kCosine;
  ScoreNorm norm = ScoreNorm::kNone;
  MatchPolicy policy = MatchPolicy::kMax;
  std::string gallery_size;
  int enrolled_people = 0, enrolled_faces = 0;
  eval::IdentificationSummary summary;
  std::vector<std::pair<std::string, eval::IdentificationSummary>> groups;
  std::vector<std::pair<std::string, eval::OpenSetRates>> group_rates;  // at the overall FPIR=1e-2 threshold
};

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

std::vector<eval::SearchResult> search_all(const PersonIndex& index, const GalleryNormalizer& normalizer,
                                           const std::vector<Probe>& probes,
                                           const std::map<std::string, ImageFace>& faces,
                                           const MatchOptions& match) {
  std::vector<eval::SearchResult> results;
  for (const auto& probe : probes) {
    eval::SearchResult result;
    result.mated = probe.known;
    const ImageFace& face = faces.at(probe.path);
    if (face.status != eval::FaceStatus::kOk) {
      result.failed = true;
    } else {
      const auto ranked = rank_normalized(index, normalizer, face.embedding, match, 5);
      if (!ranked.empty()) result.top_score = ranked.front().score;
      else result.failed = true;  // an empty gallery can accept nobody
      for (std::size_t r = 0; r < ranked.size(); ++r)
        if (probe.known && ranked[r].person == probe.identity) result.mate_rank = static_cast<int>(r) + 1;
    }
    results.push_back(result);
  }
  return results;
}

void add_identify(CLI::App* eval_cmd, GlobalOptions& globals, RunState& state) {
  auto options = std::make_shared<EvalOptions>();
  auto protocol_file = std::make_shared<std::string>();
  auto unknown_dir = std::make_shared<std::string>();
  auto sizes = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"1", "5", "20", "all"});
  auto* cmd = eval_cmd->add_subcommand("identify", "1:N open-set identification (rank-k, FNIR at FPIR)");
  cmd->add_option("--protocol", *protocol_file, "identification_protocol.tsv (path, identity, role)")->required();
  cmd->add_option("--unknown-dir", *unknown_dir, "Folder of extra never-enrolled faces (searched recursively)");
  cmd->add_option("--gallery-sizes", *sizes, "Photos enrolled per person, e.g. 1,5,20,all")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--policies", options->grid.policies, "Grid match policies: max,mean,topk (default all)")
      ->delimiter(',');
  add_shared_options(cmd, *options, true);
  cmd->callback([options, protocol_file, unknown_dir, sizes, &globals, &state] {
    const auto entries = eval::parse_identification_protocol(*protocol_file);
    const std::string root = options->root.empty() ? fs::path(*protocol_file).parent_path().string() : options->root;
    std::map<std::string, std::string> manifest;
    if (!options->by_group.empty()) manifest = eval::parse_group_manifest(options->by_group);
    std::vector<std::pair<std::string, std::string>> gallery;  // identity, path, in protocol order
    std::vector<Probe> probes;
    const NormOptions norm = options->norm_options();
    std::vector<std::string> cohort_paths;
    for (const auto& entry : entries) {
      const std::string path = resolve(root, entry.path);
      if (entry.role == eval::ProbeRole::kGallery) {
        gallery.emplace_back(entry.identity, path);
      } else {
        const std::string group = manifest.empty() ? "" : eval::group_of(manifest, entry.path);
        probes.push_back({path, entry.identity, group, entry.role == eval::ProbeRole::kProbeKnown});
      }
    }
    if (!unknown_dir->empty() || !options->cohort.empty()) {
      std::vector<std::string> extra = unknown_dir->empty() ? std::vector<std::string>{} : image_files(*unknown_dir);
      if (!options->cohort.empty()) cohort_paths = image_files(options->cohort);
      if (!options->cohort.empty() && !unknown_dir->empty() && fs::equivalent(options->cohort, *unknown_dir)) {
        // The same faces must not be strangers and cohort at once: half each.
        auto split = eval::split_alternately(extra);
        extra = std::move(split.probes);
        cohort_paths = std::move(split.cohort);
        std::cerr << "cohort and never-enrolled probes share " << *unknown_dir << ": every second image ("
                  << cohort_paths.size() << ") is cohort, the other " << extra.size() << " are probes\n";
      }
      // The folder name is the group (unknown_faces_dev sorts its faces by ethnicity that way).
      for (const auto& path : extra)
        probes.push_back({path, "", "unknown:" + fs::path(path).parent_path().filename().string(), false});
    }
    probes = spread_subset(probes, options->limit);
    const auto gallery_sizes = parse_gallery_sizes(*sizes);
    std::vector<MatchPolicy> policies;
    const auto policy_names = options->grid.policies.empty()
                                  ? (options->grid.enabled ? std::vector<std::string>{"max", "mean", "topk"}
                                                           : std::vector<std::string>{match_policy_name(
                                                                 globals.config.matching.policy)})
                                  : options->grid.policies;
    for (const auto& name : policy_names) policies.push_back(match_policy_from_name(name, "--policies"));
    std::vector<std::string> paths;
    for (const auto& [identity, path] : gallery) paths.push_back(path);
    for (const auto& probe : probes) paths.push_back(probe.path);
    paths.insert(paths.end(), cohort_paths.begin(), cohort_paths.end());

    std::vector<IdentifyRow> results;
    std::vector<FailureNote> failures;
    for_each_setting(globals, *options, paths, failures, [&](const EmbedSetting& setting, const auto& faces) {
      int dim = 1;
      for (const auto& [path, face] : faces)
        if (face.status == eval::FaceStatus::kOk) dim = static_cast<int>(face.embedding.unit.size());
      for (int size : gallery_sizes) {
        PersonIndex index(dim);
        std::map<std::string, int> taken;
        std::vector<FaceRecord> enrolled;
        for (const auto& [identity, path] : gallery) {
          int& count = taken[identity];
          if (size > 0 && count >= size) continue;
          ++count;  // a photo without a face still uses its slot: the user's enrollment lost it
          const ImageFace& face = faces.at(path);
          if (face.status != eval::FaceStatus::kOk) continue;
          FaceRecord record;
          record.id = static_cast<std::int64_t>(enrolled.size()) + 1;
          record.person = identity;
          record.embedding = face.embedding;
          index.add_face(record.id, identity, face.embedding);
          enrolled.push_back(std::move(record));
        }
        const auto extra_cohort = eval::usable_embeddings(cohort_paths, faces);
        for (Metric metric : metrics_of(globals, options->grid)) {
          // The gallery's other people are the cohort, as in the product, plus --cohort.
          GalleryNormalizer normalizer(metric, norm);
          normalizer.load(enrolled);
          normalizer.add_extra(extra_cohort);
          if (norm.norm != ScoreNorm::kNone && !normalizer.active())
            throw Error(ErrorCode::kBadRequest, "the cohort holds " + std::to_string(normalizer.cohort_size()) +
                                                    " faces, fewer than the " + std::to_string(norm.min_cohort) +
                                                    " normalisation needs: pass --cohort DIR");
          for (MatchPolicy policy : policies) {
            MatchOptions match;
            match.metric = metric;
            match.policy = policy;
            const bool hib = higher_is_better(metric);
            const auto searches = search_all(index, normalizer, probes, faces, match);
            IdentifyRow row;
            row.setting = setting;
            row.norm = norm.norm;
            row.metric = metric;
            row.policy = policy;
            row.gallery_size = size > 0 ? std::to_string(size) : "all";
            row.enrolled_people = static_cast<int>(index.person_count());
            row.enrolled_faces = static_cast<int>(index.face_count());
            row.summary = eval::summarize_identification(searches, hib);
            if (!manifest.empty() || !unknown_dir->empty()) {
              std::map<std::string, std::vector<eval::SearchResult>> by_group;
              for (std::size_t i = 0; i < probes.size(); ++i) by_group[probes[i].group].push_back(searches[i]);
              const auto overall = eval::fnir_at_fpir(searches, hib, 1e-2);
              for (const auto& [group, group_searches] : by_group) {
                const bool mated = std::any_of(group_searches.begin(), group_searches.end(),
                                               [](const auto& s) { return s.mated; });
                const bool non_mated = std::any_of(group_searches.begin(), group_searches.end(),
                                                   [](const auto& s) { return !s.mated; });
                if (mated) row.groups.emplace_back(group, eval::summarize_identification(group_searches, hib, {}));
                if (mated && non_mated)
                  row.group_rates.emplace_back(group, eval::open_set_rates(group_searches, hib, overall.threshold));
              }
            }
            results.push_back(std::move(row));
          }
        }
      }
    });
    if (results.empty()) throw Error(ErrorCode::kModelInvalid, "no configuration of the grid could be loaded");

    Table table;
    table.header = {"detector", "embedder", "align", "flip", "metric", "policy", "photos/person", "people",
                    "rank-1 %", "rank-5 %", "FNIR@FPIR=0.1 %", "FNIR@FPIR=0.01 %", "failed probes"};
    for (const auto& r : results) {
      const auto& s = r.summary;
      std::vector<std::string> row = {r.setting.detector, r.setting.embedder, r.setting.align ? "on" : "off",
                                      r.setting.flip ? "on" : "off", threshold_key(r.metric, r.norm),
                                      match_policy_name(r.policy), r.gallery_size, std::to_string(r.enrolled_people),
                                      percent(s.rank1), percent(s.rank5)};
      for (std::size_t i = 0; i < 2; ++i)
        row.push_back(i < s.fnir_at_fpir.size() ? operating_cell(s.fnir_at_fpir[i]) : "n/a");
      row.push_back(std::to_string(s.failed_mated + s.failed_non_mated));
      table.rows.push_back(row);
    }
    auto group_markdown = [](const IdentifyRow& r) {
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
      groups.rows.push_back({"**max − min gap**", "", percent(eval::max_min_gap(rank1)),
                             percent(eval::max_min_gap(fnir)), percent(eval::max_min_gap(fpir))});
      return groups.markdown();
    };
    std::ostringstream report;
    report << table.markdown();
    for (const auto& r : results)
      if (!r.groups.empty())
        report << "\n" << r.setting.label() << " " << threshold_key(r.metric, r.norm) << " " << match_policy_name(r.policy)
               << ", " << r.gallery_size << " photos/person, by group:\n\n" << group_markdown(r);
    print_failures(report, failures);
    if (globals.output_format() == OutputFormat::kJson) {
      for (const auto& r : results) {
        nlohmann::json j = {{"detector", r.setting.detector}, {"embedder", r.setting.embedder},
                            {"align", r.setting.align}, {"flip", r.setting.flip}, {"metric", metric_name(r.metric)},
                            {"norm", score_norm_name(r.norm)}, {"policy", match_policy_name(r.policy)}, {"gallery_size", r.gallery_size},
                            {"enrolled_people", r.enrolled_people}, {"enrolled_faces", r.enrolled_faces},
                            {"known_probes", r.summary.mated}, {"unknown_probes", r.summary.non_mated},
                            {"failed_known", r.summary.failed_mated}, {"failed_unknown", r.summary.failed_non_mated},
                            {"rank1", r.summary.rank1}, {"rank5", r.summary.rank5}};
        j["fnir_at_fpir"] = nlohmann::json::array();
        for (const auto& point : r.summary.fnir_at_fpir) j["fnir_at_fpir"].push_back(operating_json(point, "fnir", "fpir"));
        for (const auto& [group, s] : r.groups) j["groups"][group]["rank1"] = s.rank1;
        for (const auto& [group, rates] : r.group_rates)
          j["groups"][group]["at_overall_threshold"] = {{"fnir", rates.fnir}, {"fpir", rates.fpir}};
        print_json_line(j);
      }
      for (const auto& f : failures) print_json_line({{"failure", f.image}, {"status", f.status}, {"config", f.where}});
    } else {
      std::cout << report.str();
    }
    if (!options->csv.empty()) write_text(options->csv, table.csv());
    if (!options->markdown.empty()) write_text(options->markdown, report.str());
    state.exit_code = 0;
  });
}

// ---------------------------------------------------------------- calibrate

void add_calibrate(CLI::App& app, GlobalOptions& globals, RunState& state) {
  auto options = std::make_shared<EvalOptions>();
  auto files = std::make_shared<std::vector<std::string>>();
  auto far = std::make_shared<double>(1e-3);
  struct LivenessCalibration {
    bool enabled = false;
    double apcer = 0.05;
    std::string manifest;
  };
  auto liveness = std::make_shared<LivenessCalibration>();
  auto* cmd = app.add_subcommand(
      "calibrate", "Pick the threshold for a target false accept rate and write it into <model-dir>/manifest.json");
  cmd->add_option("--pairs", *files, "Pairs file(s) with enough impostor pairs (>= 1/FAR)");
  cmd->add_option("--far", *far, "Target false accept rate")->capture_default_str()->check(CLI::Range(1e-9, 1.0));
  cmd->add_flag("--liveness", liveness->enabled, "Calibrate the liveness model's live threshold instead");
  cmd->add_option("--apcer", liveness->apcer, "With --liveness: target attack presentation classification error rate")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1.0));
  cmd->add_option("--manifest", liveness->manifest, "With --liveness: labelled images (see `faceid eval liveness`)");
  add_shared_options(cmd, *options, false);
  cmd->callback([options, files, far, liveness, &globals, &state] {
    if (liveness->enabled) {
      if (liveness->manifest.empty()) throw Error(ErrorCode::kBadRequest, "--liveness needs --manifest FILE");
      calibrate_liveness(globals, liveness->manifest, options->root, liveness->apcer, state);
      return;
    }
    if (files->empty()) throw Error(ErrorCode::kBadRequest, "--pairs is required");
    const EngineConfig base = globals.engine_config();
    const EmbedSetting setting{base.detector, base.embedder, base.align, base.embedding.flip_augment};
    const PairSet set = load_pairs(*files, 10, *options);
    const NormOptions norm = options->norm_options();
    const auto cohort_paths = options->cohort.empty() ? std::vector<std::string>{} : image_files(options->cohort);
    std::vector<std::string> paths = cohort_paths;
    for (const auto& pair : set.pairs) paths.insert(paths.end(), {pair.path_a, pair.path_b});
    const auto engine = open_engine(globals, setting, false);
    const auto faces = embed_all(*engine, paths, *options, globals, setting.label());
    const Metric metric = base.matching.metric;
    const bool hib = higher_is_better(metric);
    const auto scored =
        eval::score_pairs(set.pairs, faces, metric, eval::usable_embeddings(cohort_paths, faces), norm);
    const auto point = eval::tar_at_far(scored, hib, *far);
    if (!point.resolvable)
      throw Error(ErrorCode::kBadRequest, "a FAR of " + rate_label(*far) + " needs at least " +
                                              std::to_string(static_cast<long long>(std::ceil(1.0 / *far))) +
                                              " impostor pairs; give a larger pairs file or a larger --far");
    // tar_at_far accepts scores strictly beyond its threshold; the manifest's is inclusive.
    const double inclusive = std::nextafter(static_cast<float>(point.threshold),
                                            hib ? std::numeric_limits<float>::infinity()
                                                : -std::numeric_limits<float>::infinity());
    ModelManifest manifest = ModelManifest::for_model_dir(globals.config.model_dir);
    ModelSpec spec = manifest.get(base.embedder);
    const std::string key = threshold_key(metric, norm.norm);
    spec.thresholds[key] = static_cast<float>(inclusive);
    manifest.upsert(spec);
    fs::create_directories(globals.config.model_dir);
    const std::string manifest_path = (fs::path(globals.config.model_dir) / "manifest.json").string();
    manifest.save(manifest_path);
    int failed = 0;
    for (const auto& pair : scored) failed += pair.failed ? 1 : 0;
    const nlohmann::json j = {{"embedder", base.embedder}, {"detector", base.detector}, {"metric", metric_name(metric)},
                              {"norm", score_norm_name(norm.norm)}, {"threshold_key", key},
                              {"far", *far}, {"threshold", inclusive}, {"expected_tar", point.rate},
                              {"achieved_far", point.achieved}, {"pairs", scored.size()}, {"failed_pairs", failed},
                              {"manifest", manifest_path}};
    if (globals.output_format() == OutputFormat::kJson) {
      print_json_line(j);
    } else {
      print_table({"EMBEDDER", "METRIC", "FAR", "THRESHOLD", "EXPECTED TAR", "PAIRS", "MANIFEST"},
                  {{base.embedder, key, rate_label(*far), fixed(inclusive, 4), percent(point.rate) + "%",
                    std::to_string(scored.size()), manifest_path}});
    }
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
