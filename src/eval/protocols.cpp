// The evaluation protocols end to end (faceid/eval_protocol.hpp).
#include "faceid/eval_protocol.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "faceid/error.hpp"
#include "faceid/image.hpp"

namespace faceid::eval {

namespace {

namespace fs = std::filesystem;

ModelManifest manifest_of(const EngineConfig& config) {
  return config.manifest_path.empty() ? ModelManifest::for_model_dir(config.model_dir)
                                      : ModelManifest::load(config.manifest_path);
}

std::vector<std::string> manifest_names(const EngineConfig& config, ModelKind kind) {
  const ModelManifest manifest = manifest_of(config);  // kept alive for the loop over its models
  std::vector<std::string> names;
  for (const auto& spec : manifest.models())
    if (spec.kind == kind) names.push_back(spec.name);
  return names;
}

EmbedSetting base_setting(const EngineConfig& base) {
  return {base.detector, base.embedder, base.align, base.embedding.flip_augment};
}

std::vector<EmbedSetting> embed_settings(const EngineConfig& base, const Grid& grid) {
  if (!grid.enabled) return {base_setting(base)};
  const auto detectors = grid.detectors.empty() ? manifest_names(base, ModelKind::kDetector) : grid.detectors;
  const auto embedders = grid.embedders.empty() ? manifest_names(base, ModelKind::kEmbedder) : grid.embedders;
  const std::vector<bool> align = grid.align.empty() ? std::vector<bool>{true, false} : grid.align;
  const std::vector<bool> flip = grid.flip.empty() ? std::vector<bool>{false, true} : grid.flip;
  std::vector<EmbedSetting> settings;
  for (const auto& detector : detectors)
    for (const auto& embedder : embedders)
      for (bool a : align)
        for (bool f : flip) settings.push_back({detector, embedder, a, f});
  return settings;
}

std::vector<Metric> metrics_of(const EngineConfig& base, const Grid& grid) {
  if (!grid.enabled) return {base.matching.metric};
  if (grid.metrics.empty()) return {Metric::kCosine, Metric::kEuclidean, Metric::kEuclideanL2};
  return grid.metrics;
}

std::vector<MatchPolicy> policies_of(const EngineConfig& base, const Grid& grid) {
  if (!grid.policies.empty()) return grid.policies;
  if (grid.enabled) return {MatchPolicy::kMax, MatchPolicy::kMeanTemplate, MatchPolicy::kTopKMean};
  return {base.matching.policy};
}

// An engine for one setting. Evaluation picks its own thresholds and needs no gallery on disk.
std::unique_ptr<Engine> open_engine(const EngineConfig& base, const EmbedSetting& setting, bool grid) {
  EngineConfig config = base;
  config.gallery = ":memory:";
  config.threshold = 0.f;
  config.detector = setting.detector;
  config.embedder = setting.embedder;
  config.align = setting.align;
  config.embedding.flip_augment = setting.flip;
  if (grid) config.detector_file.clear(), config.embedder_file.clear();
  return Engine::open(config);
}

std::string resolve(const std::string& root, const std::string& path) {
  return fs::path(path).is_absolute() ? path : (fs::path(root) / path).string();
}

// Every image under `dir`, sorted; none for "".
std::vector<std::string> image_files(const std::string& dir) {
  if (dir.empty()) return {};
  if (!fs::is_directory(dir)) throw Error(ErrorCode::kNotFound, "no folder " + dir);
  std::vector<std::string> files;
  for (const auto& item : fs::recursive_directory_iterator(dir))
    if (item.is_regular_file() && has_image_extension(item.path().string())) files.push_back(item.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// Evenly spread items: keeps the classes and folds of ordered protocol files.
template <typename T>
std::vector<T> spread_subset(const std::vector<T>& items, int limit) {
  if (limit <= 0 || static_cast<std::size_t>(limit) >= items.size()) return items;
  std::vector<T> subset;
  for (int i = 0; i < limit; ++i) subset.push_back(items[std::size_t(i) * items.size() / std::size_t(limit)]);
  return subset;
}

using FacesByPath = std::map<std::string, ImageFace>;

// Embeds the distinct images of `paths` (already resolved) once.
FacesByPath embed_all(const Engine& engine, const std::vector<std::string>& paths, const ProtocolOptions& options,
                      const std::string& label) {
  std::vector<std::string> unique;
  std::set<std::string> seen;
  for (const auto& path : paths)
    if (seen.insert(path).second) unique.push_back(path);
  RunOptions run;
  run.threads = options.threads;
  run.cache_path = options.cache_path ? *options.cache_path : default_cache_path(options.base.model_dir);
  run.progress = options.progress;
  run.label = label;
  const auto faces = embed_images(engine, unique, run);
  const bool all_missing = std::all_of(faces.begin(), faces.end(),
                                       [](const ImageFace& face) { return face.error == ErrorCode::kNotFound; });
  if (!unique.empty() && all_missing)
    throw Error(ErrorCode::kNotFound, "none of the " + std::to_string(unique.size()) + " images exists (e.g. " +
                                          unique.front() + "): pass the dataset folder as the root (--root)");
  FacesByPath by_path;
  for (std::size_t i = 0; i < unique.size(); ++i) by_path.emplace(unique[i], faces[i]);
  return by_path;
}

// Embeds `paths` under every setting of the run (one, or the grid's), handing each setting's
// faces to `use`. In a grid, a setting whose models cannot be opened here is skipped with a note.
void for_each_setting(const ProtocolOptions& options, const std::vector<std::string>& paths,
                      std::vector<FailedImage>& failures, std::vector<std::string>& notes,
                      const std::function<void(const EmbedSetting&, const FacesByPath&)>& use) {
  for (const auto& setting : embed_settings(options.base, options.grid)) {
    std::unique_ptr<Engine> engine;
    try {
      engine = open_engine(options.base, setting, options.grid.enabled);
    } catch (const Error& e) {
      if (!options.grid.enabled) throw;
      notes.push_back("skipping " + setting.label() + ": " + e.what());
      continue;
    }
    const auto faces = embed_all(*engine, paths, options, setting.label());
    for (const auto& [path, face] : faces)
      if (face.error) failures.push_back({path, face_status_name(face.error), setting.label()});
    use(setting, faces);
  }
}

std::string rate_text(double rate) {
  std::ostringstream out;
  out << rate;
  return out.str();
}

// Why a grid produced nothing: each setting's reason.
Error no_setting_loaded(const std::vector<std::string>& notes) {
  std::string message = "no configuration of the grid could be loaded";
  for (const auto& note : notes) message += "; " + note;
  return Error(ErrorCode::kModelInvalid, message);
}

bool has_both_classes(const std::vector<ScoredPair>& pairs) {
  return std::any_of(pairs.begin(), pairs.end(), [](const auto& p) { return p.genuine; }) &&
         std::any_of(pairs.begin(), pairs.end(), [](const auto& p) { return !p.genuine; });
}

// ---------------------------------------------------------------- pairs

struct PairSet {
  std::vector<PairEntry> pairs;
  std::vector<std::string> groups;  // one per pair
  bool has_groups = false;
};

PairSet load_pairs(const std::vector<std::string>& files, int folds, const ProtocolOptions& options) {
  if (files.empty()) throw Error(ErrorCode::kBadRequest, "no pairs file given");
  PairSet set;
  std::map<std::string, std::string> manifest;
  if (!options.group_manifest.empty()) manifest = parse_group_manifest(options.group_manifest);
  for (const auto& file : files) {
    auto pairs = parse_pairs_file(file);
    if (pairs.front().fold < 0) assign_block_folds(pairs, folds);  // LFW's own layout
    pairs = spread_subset(pairs, options.limit);
    const std::string root = options.root.empty() ? fs::path(file).parent_path().string() : options.root;
    for (auto& pair : pairs) {
      std::string group = fs::path(file).stem().string();
      if (!manifest.empty()) {
        const std::string a = group_of(manifest, pair.path_a), b = group_of(manifest, pair.path_b);
        group = a == b ? a : "mixed";
      }
      pair.path_a = resolve(root, pair.path_a);
      pair.path_b = resolve(root, pair.path_b);
      set.pairs.push_back(pair);
      set.groups.push_back(group);
    }
  }
  set.has_groups = !manifest.empty() || files.size() > 1;
  return set;
}

std::vector<std::string> pair_images(const PairSet& set, const std::vector<std::string>& cohort) {
  std::vector<std::string> paths = cohort;
  for (const auto& pair : set.pairs) paths.insert(paths.end(), {pair.path_a, pair.path_b});
  return paths;
}

// The groups read at the thresholds the product ships for this embedder, metric and normalisation.
std::vector<ThresholdByGroup> shipped_by_group(const ModelManifest& manifest, const std::string& embedder,
                                               Metric metric, ScoreNorm norm, const std::vector<ScoredPair>& scored,
                                               const std::vector<std::string>& groups) {
  std::vector<ThresholdByGroup> reports;
  if (!manifest.find(embedder)) return reports;
  const ModelSpec& spec = manifest.get(embedder);
  const std::string key = threshold_key(metric, norm);
  if (spec.thresholds.count(key))
    reports.push_back(rates_by_group(scored, groups, metric, "1:1 (verify) " + key, spec.thresholds.at(key)));
  if (spec.identify_thresholds.count(key))
    reports.push_back(rates_by_group(scored, groups, metric, "1:N (identify) " + key, spec.identify_thresholds.at(key)));
  return reports;
}

// The strictest FAR target the whole set can resolve (1e-3 preferred, as the team's operating point).
std::optional<OperatingPoint> strictest_operating_point(const VerificationSummary& summary) {
  std::optional<OperatingPoint> chosen;
  for (const auto& point : summary.tar_at_far)
    if (point.resolvable && point.target >= 1e-3 && (!chosen || point.target < chosen->target)) chosen = point;
  return chosen;
}

void add_groups(VerificationRow& row, const PairSet& set, const ModelManifest& manifest, bool with_curves) {
  const bool hib = higher_is_better(row.metric);
  std::map<std::string, std::vector<ScoredPair>> by_group;
  for (std::size_t i = 0; i < row.scored.size(); ++i) by_group[set.groups[i]].push_back(row.scored[i]);
  for (const auto& [group, pairs] : by_group) {
    GroupVerification g;
    g.group = group;
    g.pairs = static_cast<int>(pairs.size());
    if (has_both_classes(pairs)) {
      g.summary = summarize_verification(pairs, hib);
      if (row.operating_point) g.at_operating = verification_rates(pairs, hib, row.operating_point->threshold);
      if (with_curves) row.group_curves.push_back({row.setting.label() + " " + group, roc_curve(pairs, hib)});
    }
    row.groups.push_back(std::move(g));
  }
  row.shipped = shipped_by_group(manifest, row.setting.embedder, row.metric, row.norm, row.scored, set.groups);
}

// ---------------------------------------------------------------- identification

struct Probe {
  std::string path, identity, group;
  bool known = false;
};

struct IdentificationSet {
  std::vector<std::pair<std::string, std::string>> gallery;  // identity, path, in protocol order
  std::vector<Probe> probes;
  std::vector<std::string> cohort;
  bool has_groups = false;
};

IdentificationSet load_identification(const IdentificationRequest& request, std::vector<std::string>& notes) {
  IdentificationSet set;
  const auto entries = parse_identification_protocol(request.protocol_file);
  const std::string root =
      request.root.empty() ? fs::path(request.protocol_file).parent_path().string() : request.root;
  std::map<std::string, std::string> manifest;
  if (!request.group_manifest.empty()) manifest = parse_group_manifest(request.group_manifest);
  for (const auto& entry : entries) {
    const std::string path = resolve(root, entry.path);
    if (entry.role == ProbeRole::kGallery) {
      set.gallery.emplace_back(entry.identity, path);
    } else {
      const std::string group = manifest.empty() ? "" : group_of(manifest, entry.path);
      set.probes.push_back({path, entry.identity, group, entry.role == ProbeRole::kProbeKnown});
    }
  }
  std::vector<std::string> strangers = image_files(request.unknown_dir);
  set.cohort = image_files(request.cohort_dir);
  if (!set.cohort.empty() && !strangers.empty() && fs::equivalent(request.cohort_dir, request.unknown_dir)) {
    // The same faces must not be strangers and cohort at once: half each.
    auto split = split_alternately(strangers);
    strangers = std::move(split.probes);
    set.cohort = std::move(split.cohort);
    notes.push_back("cohort and never-enrolled probes share " + request.unknown_dir + ": every second image (" +
                    std::to_string(set.cohort.size()) + ") is cohort, the other " +
                    std::to_string(strangers.size()) + " are probes");
  }
  // The folder name is the group (unknown_faces_dev sorts its faces by ethnicity that way).
  for (const auto& path : strangers)
    set.probes.push_back({path, "", "unknown:" + fs::path(path).parent_path().filename().string(), false});
  set.probes = spread_subset(set.probes, request.limit);
  set.has_groups = !manifest.empty() || !request.unknown_dir.empty();
  return set;
}

std::vector<SearchResult> search_all(const PersonIndex& index, const GalleryNormalizer& normalizer,
                                     const std::vector<Probe>& probes, const FacesByPath& faces,
                                     const MatchOptions& match) {
  std::vector<SearchResult> results;
  for (const auto& probe : probes) {
    SearchResult result;
    result.mated = probe.known;
    const ImageFace& face = faces.at(probe.path);
    if (face.error) {
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

// The first `size` photos of each person (0 = all). A photo without a face still uses its
// slot: the user's enrollment lost it.
std::vector<FaceRecord> enroll_gallery(const IdentificationSet& set, const FacesByPath& faces, int size,
                                       PersonIndex& index) {
  std::map<std::string, int> taken;
  std::vector<FaceRecord> enrolled;
  for (const auto& [identity, path] : set.gallery) {
    int& count = taken[identity];
    if (size > 0 && count >= size) continue;
    ++count;
    const ImageFace& face = faces.at(path);
    if (face.error) continue;
    FaceRecord record;
    record.id = static_cast<std::int64_t>(enrolled.size()) + 1;
    record.person = identity;
    record.embedding = face.embedding;
    index.add_face(record.id, identity, face.embedding);
    enrolled.push_back(std::move(record));
  }
  return enrolled;
}

void add_groups(IdentificationRow& row, const std::vector<Probe>& probes, const std::vector<SearchResult>& searches) {
  const bool hib = higher_is_better(row.metric);
  std::map<std::string, std::vector<SearchResult>> by_group;
  for (std::size_t i = 0; i < probes.size(); ++i) by_group[probes[i].group].push_back(searches[i]);
  const auto overall = fnir_at_fpir(searches, hib, 1e-2);
  for (const auto& [group, group_searches] : by_group) {
    const bool mated = std::any_of(group_searches.begin(), group_searches.end(), [](const auto& s) { return s.mated; });
    const bool non_mated =
        std::any_of(group_searches.begin(), group_searches.end(), [](const auto& s) { return !s.mated; });
    if (mated) row.groups.emplace_back(group, summarize_identification(group_searches, hib, {}));
    if (mated && non_mated) row.group_rates.emplace_back(group, open_set_rates(group_searches, hib, overall.threshold));
    if (!mated && non_mated) row.stranger_fpir.emplace_back(group, fpir_at(group_searches, hib, overall.threshold));
  }
}

nlohmann::json operating_json(const OperatingPoint& point, const char* rate_name, const char* target_name) {
  return {{target_name, point.target}, {rate_name, point.rate}, {"threshold", point.threshold},
          {"achieved", point.achieved}, {"resolvable", point.resolvable}};
}

nlohmann::json setting_json(const EmbedSetting& setting, Metric metric, ScoreNorm norm) {
  return {{"detector", setting.detector}, {"embedder", setting.embedder}, {"align", setting.align},
          {"flip", setting.flip},         {"metric", metric_name(metric)},  {"norm", score_norm_name(norm)}};
}

}  // namespace

std::string EmbedSetting::label() const {
  return detector + "/" + embedder + (align ? "" : " noalign") + (flip ? " flip" : "");
}

VerificationReport run_verification(const VerificationRequest& request) {
  const PairSet set = load_pairs(request.pair_files, request.folds, request);
  const auto cohort = image_files(request.cohort_dir);
  const auto metrics = metrics_of(request.base, request.grid);
  const ModelManifest manifest = manifest_of(request.base);
  VerificationReport report;
  for_each_setting(request, pair_images(set, cohort), report.failures, report.notes,
                   [&](const EmbedSetting& setting, const FacesByPath& faces) {
                     for (Metric metric : metrics) {
                       VerificationRow row;
                       row.setting = setting;
                       row.metric = metric;
                       row.norm = request.norm.norm;
                       row.scored = score_pairs(set.pairs, faces, metric, usable_embeddings(cohort, faces), request.norm);
                       row.summary = summarize_verification(row.scored, higher_is_better(metric), request.fars);
                       row.operating_point = strictest_operating_point(row.summary);
                       if (set.has_groups) add_groups(row, set, manifest, metric == metrics.front());
                       report.rows.push_back(std::move(row));
                     }
                   });
  if (report.rows.empty()) throw no_setting_loaded(report.notes);
  return report;
}

IdentificationReport run_identification(const IdentificationRequest& request) {
  IdentificationReport report;
  const IdentificationSet set = load_identification(request, report.notes);
  if (request.gallery_sizes.empty()) throw Error(ErrorCode::kBadRequest, "no gallery size given");
  for (int size : request.gallery_sizes)
    if (size < 0) throw Error(ErrorCode::kBadRequest, "a gallery size must be positive (0 = all)");
  const auto metrics = metrics_of(request.base, request.grid);
  const auto policies = policies_of(request.base, request.grid);
  std::vector<std::string> paths;
  for (const auto& [identity, path] : set.gallery) paths.push_back(path);
  for (const auto& probe : set.probes) paths.push_back(probe.path);
  paths.insert(paths.end(), set.cohort.begin(), set.cohort.end());
  for_each_setting(request, paths, report.failures, report.notes, [&](const EmbedSetting& setting, const FacesByPath& faces) {
    int dim = 1;
    for (const auto& [path, face] : faces)
      if (!face.error) dim = static_cast<int>(face.embedding.unit.size());
    const auto extra_cohort = usable_embeddings(set.cohort, faces);
    for (int size : request.gallery_sizes) {
      PersonIndex index(dim);
      const auto enrolled = enroll_gallery(set, faces, size, index);
      for (Metric metric : metrics) {
        // The gallery's other people are the cohort, as in the product, plus the cohort folder.
        GalleryNormalizer normalizer(metric, request.norm);
        normalizer.load(enrolled);
        normalizer.add_extra(extra_cohort);
        if (request.norm.norm != ScoreNorm::kNone && !normalizer.active())
          throw Error(ErrorCode::kBadRequest, "the cohort holds " + std::to_string(normalizer.cohort_size()) +
                                                  " faces, fewer than the " + std::to_string(request.norm.min_cohort) +
                                                  " normalisation needs: give a cohort folder (--cohort)");
        for (MatchPolicy policy : policies) {
          MatchOptions match;
          match.metric = metric;
          match.policy = policy;
          const auto searches = search_all(index, normalizer, set.probes, faces, match);
          IdentificationRow row;
          row.setting = setting;
          row.norm = request.norm.norm;
          row.metric = metric;
          row.policy = policy;
          row.gallery_size = size;
          row.enrolled_people = static_cast<int>(index.person_count());
          row.enrolled_faces = static_cast<int>(index.face_count());
          row.summary = summarize_identification(searches, higher_is_better(metric));
          if (set.has_groups) add_groups(row, set.probes, searches);
          report.rows.push_back(std::move(row));
        }
      }
    }
  });
  if (report.rows.empty()) throw no_setting_loaded(report.notes);
  return report;
}

Calibration calibrate_threshold(const CalibrationRequest& request) {
  const EngineConfig& base = request.base;
  const EmbedSetting setting = base_setting(base);
  const PairSet set = load_pairs(request.pair_files, 10, request);
  const auto cohort = image_files(request.cohort_dir);
  const auto engine = open_engine(base, setting, false);
  const auto faces = embed_all(*engine, pair_images(set, cohort), request, setting.label());
  Calibration result;
  result.metric = base.matching.metric;
  result.norm = request.norm.norm;
  const bool hib = higher_is_better(result.metric);
  const auto scored = score_pairs(set.pairs, faces, result.metric, usable_embeddings(cohort, faces), request.norm);
  const auto point = tar_at_far(scored, hib, request.far);
  if (!point.resolvable)
    throw Error(ErrorCode::kBadRequest, "a FAR of " + rate_text(request.far) + " needs at least " +
                                            std::to_string(static_cast<long long>(std::ceil(1.0 / request.far))) +
                                            " impostor pairs; give a larger pairs file or a larger FAR (--far)");
  // tar_at_far accepts scores strictly beyond its threshold; the manifest's is inclusive.
  const float inclusive = std::nextafter(static_cast<float>(point.threshold),
                                         hib ? std::numeric_limits<float>::infinity()
                                             : -std::numeric_limits<float>::infinity());
  ModelManifest manifest = ModelManifest::for_model_dir(base.model_dir);
  ModelSpec spec = manifest.get(base.embedder);
  result.threshold_key = threshold_key(result.metric, result.norm);
  spec.thresholds[result.threshold_key] = inclusive;
  manifest.upsert(spec);
  result.manifest = request.manifest_out.empty() ? (fs::path(base.model_dir) / "manifest.json").string()
                                                 : request.manifest_out;
  const fs::path folder = fs::path(result.manifest).parent_path();
  if (!folder.empty()) fs::create_directories(folder);
  manifest.save(result.manifest);
  result.embedder = base.embedder;
  result.detector = base.detector;
  result.far = request.far;
  result.threshold = inclusive;
  result.expected_tar = point.rate;
  result.achieved_far = point.achieved;
  result.pairs = static_cast<int>(scored.size());
  for (const auto& pair : scored) result.failed_pairs += pair.failed ? 1 : 0;
  return result;
}

nlohmann::json to_json(const VerificationRow& r) {
  const auto& s = r.summary;
  nlohmann::json j = setting_json(r.setting, r.metric, r.norm);
  j.update({{"pairs", s.pairs}, {"genuine", s.genuine}, {"impostor", s.impostor},
            {"failed_genuine", s.failed_genuine}, {"failed_impostor", s.failed_impostor}, {"auc", s.auc},
            {"eer", s.eer.rate}, {"eer_threshold", s.eer.threshold}});
  if (s.accuracy) {
    nlohmann::json folds = nlohmann::json::array();
    for (const auto& fold : s.accuracy->folds)
      folds.push_back({{"fold", fold.fold + 1}, {"pairs", fold.pairs}, {"threshold", fold.threshold},
                       {"accuracy", fold.accuracy}});
    j["accuracy"] = {{"mean", s.accuracy->mean}, {"std", s.accuracy->std}, {"folds", folds}};
  }
  j["tar_at_far"] = nlohmann::json::array();
  for (const auto& point : s.tar_at_far) j["tar_at_far"].push_back(operating_json(point, "tar", "far"));
  if (r.groups.empty()) return j;
  j["groups"] = nlohmann::json::array();
  for (const auto& g : r.groups) {
    nlohmann::json gj = {{"group", g.group}, {"pairs", g.pairs}};
    if (g.summary) {
      if (g.summary->accuracy) gj["accuracy"] = g.summary->accuracy->mean;
      gj["auc"] = g.summary->auc;
      gj["eer"] = g.summary->eer.rate;
      if (r.operating_point) gj["at_overall_threshold"] = {{"tar", g.at_operating.tar}, {"far", g.at_operating.far}};
    }
    j["groups"].push_back(gj);
  }
  if (r.operating_point) j["group_threshold"] = operating_json(*r.operating_point, "tar", "far");
  for (const auto& report : r.shipped) {
    nlohmann::json sj = {{"name", report.name}, {"threshold", report.threshold}, {"tar", report.overall.tar},
                         {"far", report.overall.far}, {"max_group_far", report.max_group_far},
                         {"far_ratio", report.far_ratio}};
    for (const auto& g : report.groups) sj["groups"][g.group] = {{"tar", g.rates.tar}, {"far", g.rates.far}};
    j["shipped_thresholds"].push_back(sj);
  }
  return j;
}

nlohmann::json to_json(const IdentificationRow& r) {
  nlohmann::json j = setting_json(r.setting, r.metric, r.norm);
  j.update({{"policy", match_policy_name(r.policy)},
            {"gallery_size", r.gallery_size > 0 ? std::to_string(r.gallery_size) : "all"},
            {"enrolled_people", r.enrolled_people}, {"enrolled_faces", r.enrolled_faces},
            {"known_probes", r.summary.mated}, {"unknown_probes", r.summary.non_mated},
            {"failed_known", r.summary.failed_mated}, {"failed_unknown", r.summary.failed_non_mated},
            {"rank1", r.summary.rank1}, {"rank5", r.summary.rank5}});
  j["fnir_at_fpir"] = nlohmann::json::array();
  for (const auto& point : r.summary.fnir_at_fpir) j["fnir_at_fpir"].push_back(operating_json(point, "fnir", "fpir"));
  for (const auto& [group, s] : r.groups) j["groups"][group]["rank1"] = s.rank1;
  for (const auto& [group, rates] : r.group_rates)
    j["groups"][group]["at_overall_threshold"] = {{"fnir", rates.fnir}, {"fpir", rates.fpir}};
  for (const auto& [group, fpir] : r.stranger_fpir) j["groups"][group]["at_overall_threshold"] = {{"fpir", fpir}};
  return j;
}

nlohmann::json to_json(const Calibration& c) {
  return {{"embedder", c.embedder},       {"detector", c.detector},
          {"metric", metric_name(c.metric)}, {"norm", score_norm_name(c.norm)},
          {"threshold_key", c.threshold_key}, {"far", c.far},
          {"threshold", c.threshold},      {"expected_tar", c.expected_tar},
          {"achieved_far", c.achieved_far}, {"pairs", c.pairs},
          {"failed_pairs", c.failed_pairs}, {"manifest", c.manifest}};
}

nlohmann::json to_json(const FailedImage& f) {
  return {{"failure", f.image}, {"status", f.status}, {"config", f.setting}};
}

}  // namespace faceid::eval
