// Score-level fusion of several embedders, expressed as one embedding so that the index,
// the gallery store, the evaluation cache and the server need no notion of fusion.
#include <cmath>
#include <cstdio>
#include <numeric>

#include "faceid/embedder.hpp"
#include "faceid/error.hpp"

namespace faceid {
namespace {

class FusionEmbedder final : public FaceEmbedder {
 public:
  FusionEmbedder(const ModelSpec& spec, std::vector<std::unique_ptr<FaceEmbedder>> members)
      : members_(std::move(members)) {
    if (members_.size() < 2)
      throw Error(ErrorCode::kModelInvalid, "fusion " + spec.name + " needs at least two members");
    std::vector<float> weights = spec.weights;
    if (weights.empty()) weights.assign(members_.size(), 1.f);
    if (weights.size() != members_.size())
      throw Error(ErrorCode::kModelInvalid, "fusion " + spec.name + " has " + std::to_string(weights.size()) +
                                                " weights for " + std::to_string(members_.size()) + " members");
    const float total = std::accumulate(weights.begin(), weights.end(), 0.f);
    input_size_ = members_.front()->input_size();
    model_id_ = spec.model_id() + "[";
    for (std::size_t i = 0; i < members_.size(); ++i) {
      const FaceEmbedder& member = *members_[i];
      if (!(weights[i] > 0.f) || !std::isfinite(weights[i]))
        throw Error(ErrorCode::kModelInvalid, "fusion " + spec.name + ": weights must be positive");
      if (member.input_size() != input_size_)
        throw Error(ErrorCode::kModelInvalid,
                    "fusion " + spec.name + ": member " + member.model_id() + " takes " + size_text(member.input_size()) +
                        " crops, " + members_.front()->model_id() + " takes " + size_text(input_size_) +
                        "; members must share one input size");
      const float weight = weights[i] / total;
      scales_.push_back(std::sqrt(weight));
      dim_ += member.dim();
      char formatted[32];
      std::snprintf(formatted, sizeof formatted, "%.4g", weight);
      // Member ids carry their own flip marker, so the fused id changes with flip too.
      model_id_ += (i ? "," : "") + member.model_id() + "*" + formatted;
    }
    model_id_ += "]";
  }

  std::vector<Embedding> embed(const std::vector<cv::Mat>& aligned_bgr) const override {
    std::vector<Embedding> fused(aligned_bgr.size());
    for (auto& e : fused) e.unit.reserve(dim_);
    for (std::size_t m = 0; m < members_.size(); ++m) {
      const auto part = members_[m]->embed(aligned_bgr);
      for (std::size_t i = 0; i < part.size(); ++i)
        for (float v : part[i].unit) fused[i].unit.push_back(v * scales_[m]);
    }
    // The scaled parts already have squared norms summing to 1; renormalise against rounding.
    // There is no raw vector behind a fusion, so its norm is 1 (euclidean == euclidean_l2).
    for (auto& e : fused) {
      const double norm = std::sqrt(std::inner_product(e.unit.begin(), e.unit.end(), e.unit.begin(), 0.0));
      if (norm > 0.0)
        for (float& v : e.unit) v = static_cast<float>(v / norm);
      e.norm = 1.f;
    }
    return fused;
  }

  int dim() const override { return dim_; }
  cv::Size input_size() const override { return input_size_; }
  std::string model_id() const override { return model_id_; }

 private:
  static std::string size_text(cv::Size size) {
    return std::to_string(size.width) + "x" + std::to_string(size.height);
  }

  std::vector<std::unique_ptr<FaceEmbedder>> members_;
  std::vector<float> scales_;  // sqrt of each member's normalised weight
  cv::Size input_size_;
  int dim_ = 0;
  std::string model_id_;
};

}  // namespace

std::unique_ptr<FaceEmbedder> create_fusion_embedder(const ModelSpec& spec,
                                                     std::vector<std::unique_ptr<FaceEmbedder>> members) {
  return std::make_unique<FusionEmbedder>(spec, std::move(members));
}

std::unique_ptr<FaceEmbedder> create_embedder(const ModelSpec& spec, const ModelManifest& manifest,
                                              const ModelFileResolver& resolve, const EmbedderOptions& options) {
  if (spec.format != "fusion") return create_embedder(spec, resolve(spec), options);
  std::vector<std::unique_ptr<FaceEmbedder>> members;
  for (const auto& name : spec.members) {
    const ModelSpec& member = manifest.get(name);
    // Nested fusions are refused: they add nothing a flat member list cannot say, and could cycle.
    if (member.kind != ModelKind::kEmbedder || member.format == "fusion")
      throw Error(ErrorCode::kModelInvalid, "fusion " + spec.name + ": member " + name +
                                                " must be a network embedder");
    members.push_back(create_embedder(member, resolve(member), options));
  }
  return create_fusion_embedder(spec, std::move(members));
}

}  // namespace faceid
