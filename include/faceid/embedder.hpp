#pragma once
// Face embedding: aligned crops in, L2-normalised vectors out.
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

std::unique_ptr<FaceEmbedder> create_embedder(const ModelSpec& spec, const std::string& model_file,
                                              const EmbedderOptions& options = {});

}  // namespace faceid
