#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "core/dnn_net.hpp"
#include "faceid/embedder.hpp"
#include "faceid/error.hpp"

namespace faceid {
namespace {

// Embedder for any ArcFace-style network: aligned crop in, one vector out.
class DnnEmbedder final : public FaceEmbedder {
 public:
  DnnEmbedder(const ModelSpec& spec, const std::string& model_file, const EmbedderOptions& options)
      : spec_(spec), options_(options), nets_(spec, model_file) {
    if (spec_.input_size.empty())
      throw Error(ErrorCode::kModelInvalid, "embedder " + spec_.name + " has no input_size in its manifest");
    dim_ = spec_.output_dim > 0 ? spec_.output_dim : probe_dim();
  }

  std::vector<Embedding> embed(const std::vector<cv::Mat>& aligned_bgr) const override {
    std::vector<Embedding> out;
    out.reserve(aligned_bgr.size());
    for (std::size_t start = 0; start < aligned_bgr.size(); start += kMaxBatch) {
      const std::size_t end = std::min(aligned_bgr.size(), start + kMaxBatch);
      std::vector<cv::Mat> batch(aligned_bgr.begin() + start, aligned_bgr.begin() + end);
      embed_batch(batch, out);
    }
    return out;
  }

  int dim() const override { return dim_; }
  cv::Size input_size() const override { return spec_.input_size; }
  std::string model_id() const override {
    return spec_.model_id() + (options_.flip_augment ? "+flip" : "");
  }

 private:
  static constexpr std::size_t kMaxBatch = 16;

  cv::Mat forward(const std::vector<cv::Mat>& crops) const {
    for (const auto& crop : crops) {
      if (crop.size() != spec_.input_size || crop.type() != CV_8UC3)
        throw Error(ErrorCode::kBadRequest, "embedder expects " + std::to_string(spec_.input_size.width) +
                                                "x" + std::to_string(spec_.input_size.height) +
                                                " BGR crops");
    }
    const cv::Mat blob = cv::dnn::blobFromImages(crops, 1.0 / spec_.std, spec_.input_size,
                                                 cv::Scalar::all(spec_.mean), spec_.rgb, false, CV_32F);
    return nets_.run([&](cv::dnn::Net& net) {
      net.setInput(blob);
      cv::Mat result = spec_.output.empty() ? net.forward() : net.forward(spec_.output);
      // Some exported graphs flatten the batch into one row: restore N rows.
      return result.reshape(1, static_cast<int>(crops.size())).clone();
    });
  }

  int probe_dim() const {
    const cv::Mat zero(spec_.input_size, CV_8UC3, cv::Scalar::all(0));
    return forward({zero}).cols;
  }

  void embed_batch(const std::vector<cv::Mat>& crops, std::vector<Embedding>& out) const {
    std::vector<cv::Mat> inputs = crops;
    if (options_.flip_augment) {
      for (const auto& crop : crops) {
        cv::Mat mirrored;
        cv::flip(crop, mirrored, 1);
        inputs.push_back(mirrored);
      }
    }
    cv::Mat rows = forward(inputs);
    if (rows.cols != dim_)
      throw Error(ErrorCode::kModelInvalid, "embedder " + spec_.name + " produced " +
                                                std::to_string(rows.cols) + " values, manifest says " +
                                                std::to_string(dim_));
    const int n = static_cast<int>(crops.size());
    for (int i = 0; i < n; ++i) {
      cv::Mat v = rows.row(i).clone();
      if (options_.flip_augment) v += rows.row(n + i);
      Embedding e;
      e.norm = static_cast<float>(cv::norm(v));
      if (!(e.norm > 0.f)) e.norm = 1.f;  // a dead output must not produce NaNs downstream
      v /= e.norm;
      e.unit.assign(v.ptr<float>(), v.ptr<float>() + dim_);
      out.push_back(std::move(e));
    }
  }

  ModelSpec spec_;
  EmbedderOptions options_;
  DnnNetPool nets_;
  int dim_ = 0;
};

}  // namespace

std::unique_ptr<FaceEmbedder> create_embedder(const ModelSpec& spec, const std::string& model_file,
                                              const EmbedderOptions& options) {
  if (spec.kind != ModelKind::kEmbedder)
    throw Error(ErrorCode::kBadRequest, spec.name + " is not an embedder model");
  if (spec.format == "fusion")
    throw Error(ErrorCode::kBadRequest, spec.name + " is a fusion of other embedders and has no model file");
  return std::make_unique<DnnEmbedder>(spec, model_file, options);
}

}  // namespace faceid
