// Presentation-attack detection figures (ISO/IEC 30107-3) over a labelled image manifest.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "eval/progress.hpp"
#include "faceid/error.hpp"
#include "faceid/eval.hpp"

namespace faceid::eval {
namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, '\t')) cells.push_back(cell);
  return cells;
}

// Bona fide = "genuine", attack = "impostor": the verification ROC machinery then reads
// FAR as APCER and TAR as 1 - BPCER. Unscored samples are failed: never accepted.
std::vector<ScoredPair> as_pairs(const std::vector<LivenessScore>& scores) {
  std::vector<ScoredPair> pairs;
  pairs.reserve(scores.size());
  for (const auto& s : scores) {
    ScoredPair pair;
    pair.genuine = !s.sample.attack;
    pair.failed = !s.score.has_value();
    pair.score = s.score.value_or(0.f);
    pairs.push_back(pair);
  }
  return pairs;
}

// tar_at_far accepts scores strictly above its threshold; the checker's is inclusive.
double inclusive(double strict_threshold) {
  return std::nextafter(static_cast<float>(strict_threshold), std::numeric_limits<float>::infinity());
}

OperatingPoint bpcer_at_apcer(const std::vector<ScoredPair>& pairs, double apcer) {
  OperatingPoint point = tar_at_far(pairs, true, apcer);
  point.threshold = inclusive(point.threshold);
  point.rate = 1.0 - point.rate;  // BPCER
  return point;
}

}  // namespace

std::vector<LivenessSample> parse_liveness_manifest(const std::string& tsv_path, const std::string& root) {
  std::ifstream in(tsv_path);
  if (!in) throw Error(ErrorCode::kNotFound, "cannot open liveness manifest " + tsv_path);
  std::string line;
  if (!std::getline(in, line)) throw Error(ErrorCode::kBadRequest, tsv_path + " is empty");
  const auto header = split_tabs(line);
  auto column = [&](const std::string& name) -> int {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return static_cast<int>(i);
    return -1;
  };
  const int path_col = column("path"), label_col = column("label");
  const int type_col = column("attack_type"), source_col = column("source");
  if (path_col < 0 || label_col < 0)
    throw Error(ErrorCode::kBadRequest, tsv_path + ": the header must name the columns path and label");
  const std::filesystem::path base = root.empty() ? std::filesystem::path(tsv_path).parent_path() : std::filesystem::path(root);
  std::vector<LivenessSample> samples;
  for (int number = 2; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto cells = split_tabs(line);
    auto cell = [&](int col) { return col >= 0 && col < static_cast<int>(cells.size()) ? cells[col] : std::string(); };
    LivenessSample sample;
    sample.path = (base / cell(path_col)).string();
    const std::string label = cell(label_col);
    if (label != "real" && label != "spoof")
      throw Error(ErrorCode::kBadRequest, tsv_path + ":" + std::to_string(number) + ": label '" + label +
                                              "' is neither real nor spoof");
    sample.attack = label == "spoof";
    sample.attack_type = cell(type_col);
    sample.source = cell(source_col);
    if (cell(path_col).empty())
      throw Error(ErrorCode::kBadRequest, tsv_path + ":" + std::to_string(number) + ": empty path");
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::vector<LivenessScore> score_liveness(const Engine& engine, const std::vector<LivenessSample>& samples,
                                          bool show_progress) {
  std::vector<LivenessScore> scores;
  scores.reserve(samples.size());
  ProgressBar progress("liveness", samples.size(), show_progress);
  for (const auto& sample : samples) {
    LivenessScore score;
    score.sample = sample;
    try {
      const cv::Mat bgr = load_image(sample.path, engine.config().limits);
      const auto faces = engine.detect(bgr);
      if (faces.empty()) throw Error(ErrorCode::kNoFace, "no face found");
      const LivenessResult live = engine.check_liveness(bgr, {subject_face(faces)}).front();
      score.score = live.score;
      score.reason = live.reason;
    } catch (const Error& e) {
      // A bad image or a face-less one is a sample the product rejects: kept, unscored.
      if (e.code() == ErrorCode::kModelInvalid) throw;
      score.reason = e.what();
    }
    scores.push_back(std::move(score));
    progress.advance();
  }
  return scores;
}

LivenessMetrics liveness_metrics(const std::vector<LivenessScore>& scores, double threshold) {
  LivenessMetrics m;
  m.threshold = threshold;
  std::map<std::string, std::pair<std::size_t, std::size_t>> by_type;  // accepted, total
  std::size_t accepted_attacks = 0, rejected_bona_fide = 0;
  for (const auto& s : scores) {
    const bool accepted = s.score && *s.score >= threshold;
    if (s.sample.attack) {
      ++m.attacks;
      m.attacks_not_judged += s.score ? 0 : 1;
      accepted_attacks += accepted ? 1 : 0;
      auto& cell = by_type[s.sample.attack_type.empty() ? "attack" : s.sample.attack_type];
      cell.first += accepted ? 1 : 0;
      ++cell.second;
    } else {
      ++m.bona_fide;
      m.bona_fide_not_judged += s.score ? 0 : 1;
      rejected_bona_fide += accepted ? 0 : 1;
    }
  }
  if (m.attacks == 0 || m.bona_fide == 0)
    throw Error(ErrorCode::kBadRequest, "liveness figures need both real and spoof samples");
  m.apcer = static_cast<double>(accepted_attacks) / m.attacks;
  m.bpcer = static_cast<double>(rejected_bona_fide) / m.bona_fide;
  m.acer = (m.apcer + m.bpcer) / 2.0;
  for (const auto& [type, cell] : by_type)
    m.apcer_by_attack_type[type] = static_cast<double>(cell.first) / cell.second;
  const auto pairs = as_pairs(scores);
  m.roc = roc_curve(pairs, true);
  m.auc = roc_auc(m.roc);
  m.at_apcer_10 = bpcer_at_apcer(pairs, 0.10);
  m.at_apcer_5 = bpcer_at_apcer(pairs, 0.05);
  return m;
}

double liveness_threshold_at_apcer(const std::vector<LivenessScore>& scores, double apcer) {
  const OperatingPoint point = bpcer_at_apcer(as_pairs(scores), apcer);
  if (!point.resolvable)
    throw Error(ErrorCode::kBadRequest, "an APCER of " + std::to_string(apcer) + " needs at least " +
                                            std::to_string(static_cast<long long>(std::ceil(1.0 / apcer))) +
                                            " attack samples");
  return point.threshold;
}

}  // namespace faceid::eval
