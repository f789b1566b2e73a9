#include "cli.hpp"

#include <iostream>

#include "faceid/error.hpp"

namespace faceid::cli {

OutputFormat GlobalOptions::output_format() const {
  return format == "table" ? OutputFormat::kTable : OutputFormat::kJson;
}

EngineConfig GlobalOptions::engine_config() const {
  EngineConfig config;
  config.gallery = gallery;
  config.model_dir = model_dir;
  config.extra_model_dirs = extra_model_dirs;
  config.manifest_path = manifest;
  config.detector = detector;
  config.embedder = embedder;
  config.detector_file = detector_file;
  config.embedder_file = embedder_file;
  const auto parsed_metric = parse_metric(metric);
  if (!parsed_metric)
    throw Error(ErrorCode::kBadRequest, "unknown metric '" + metric + "' (cosine, euclidean, euclidean_l2)");
  config.matching.metric = *parsed_metric;
  const auto parsed_policy = parse_match_policy(policy);
  if (!parsed_policy) throw Error(ErrorCode::kBadRequest, "unknown policy '" + policy + "' (max, mean, topk)");
  config.matching.policy = *parsed_policy;
  const auto parsed_index = parse_index_kind(index);
  if (!parsed_index)
    throw Error(ErrorCode::kBadRequest, "unknown index '" + index + "' (auto, exact, int8-scan, hnsw, ivf-sq8)");
  config.index.kind = *parsed_index;
  config.index.snapshot_file = index_snapshot;
  const auto parsed_norm = parse_score_norm(norm);
  if (!parsed_norm)
    throw Error(ErrorCode::kBadRequest, "unknown normalisation '" + norm + "' (none, znorm, tnorm, snorm, asnorm)");
  config.normalization.norm = *parsed_norm;
  config.cohort_gallery = cohort_gallery;
  config.threshold = threshold;
  if (det_threshold) config.detection.score_threshold = *det_threshold;
  if (min_face_size) config.detection.min_face_size = *min_face_size;
  config.align = !no_align;
  config.embedding.flip_augment = flip;
  config.liveness.model = liveness_model;
  config.liveness.model_file = liveness_file;
  config.liveness.threshold = liveness_threshold;
  return config;
}

void print_json_line(const nlohmann::json& value) { std::cout << value.dump() << "\n" << std::flush; }

}  // namespace faceid::cli
