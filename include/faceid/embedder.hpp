#pragma once
// Face embedding: aligned crops in, L2-normalised vectors out.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceid/models.hpp"
#include "faceid/types.hpp"

namespace faceid {

struct EmbedderOptions {
  // Test-time augmentation: embed the crop and its mirror image, sum, normalise.
  bool flip_augment = false;
};

class FaceEmbedder {
 public:
  virtual ~FaceEmbedder() = default;
  // One embedding per aligned BGR crop (input_size() pixels), computed in one batch. Thread-safe.
  virtual std::vector<Embedding> embed(const std::vector<cv::Mat>& aligned_bgr) const = 0;
  virtual int dim() const = 0;
  virtual cv::Size input_size() const = 0;
  // Model identity stored with embeddings (flip augmentation changes it).
  virtual std::string model_id() const = 0;
};

// One network embedder. `spec` must not be a fusion (it has no file of its own).
std::unique_ptr<FaceEmbedder> create_embedder(const ModelSpec& spec, const std::string& model_file,
                                              const EmbedderOptions& options = {});

// Where a model's file is (checked); the engine's searches its model folders.
using ModelFileResolver = std::function<std::string(const ModelSpec&)>;

// Any manifest embedder: a network, or a "fusion" entry whose members are looked up in
// `manifest` and built with their `resolve`d files.
std::unique_ptr<FaceEmbedder> create_embedder(const ModelSpec& spec, const ModelManifest& manifest,
                                              const ModelFileResolver& resolve,
                                              const EmbedderOptions& options = {});

// Score-level fusion: the embedding is the members' unit vectors, each scaled by
// sqrt(w_i / sum w), concatenated, so the cosine of two fused embeddings is the weighted
// mean of the members' cosines. spec.weights: one per member, empty = equal. Members must
// share one input size (Error kModelInvalid otherwise: a crop is never resized per member).
std::unique_ptr<FaceEmbedder> create_fusion_embedder(const ModelSpec& spec,
                                                     std::vector<std::unique_ptr<FaceEmbedder>> members);

}  // namespace faceid
