// Liveness checkers on cv::dnn: one softmax classifier, or the mean of several (a fusion).
#include <algorithm>
#include <cmath>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "core/dnn_net.hpp"
#include "faceid/error.hpp"
#include "faceid/liveness.hpp"

namespace faceid {
namespace {

// One network: context crops in, live probabilities out.
class LivenessNetwork {
 public:
  LivenessNetwork(const ModelSpec& spec, const std::string& model_file)
      : spec_(spec), nets_(spec, model_file) {
    if (spec_.input_size.empty())
      throw Error(ErrorCode::kModelInvalid, "liveness model " + spec_.name + " has no input_size in its manifest");
  }

  const ModelSpec& spec() const { return spec_; }

  // One crop per forward pass: the shipped exports have a fixed batch of one.
  std::vector<float> live_probabilities(const std::vector<cv::Mat>& crops) const {
    std::vector<float> live;
    live.reserve(crops.size());
    for (const auto& crop : crops) {
      cv::Mat resized;
      cv::resize(crop, resized, spec_.input_size, 0, 0, cv::INTER_LINEAR);
      const cv::Mat blob = cv::dnn::blobFromImage(resized, 1.0 / spec_.std, spec_.input_size,
                                                  cv::Scalar::all(spec_.mean), spec_.rgb, false, CV_32F);
      cv::Mat row;
      try {
        row = nets_.run([&](cv::dnn::Net& net) {
          net.setInput(blob);
          return cv::Mat(net.forward().reshape(1, 1).clone());
        });
      } catch (const cv::Exception& e) {
        throw Error(ErrorCode::kModelInvalid, "liveness model " + spec_.name + " failed: " + e.what());
      }
      if (row.cols <= spec_.live_class)
        throw Error(ErrorCode::kModelInvalid, "liveness model " + spec_.name + " gives " + std::to_string(row.cols) +
                                                  " classes; its live_class is " + std::to_string(spec_.live_class));
      live.push_back(softmax_at(row.ptr<float>(0), row.cols, spec_.live_class));
    }
    return live;
  }

 private:
  // Softmax of raw logits; rows that already are probabilities (some exports end in a softmax)
  // are taken as they are.
  static float softmax_at(const float* row, int n, int index) {
    float sum = 0.f, highest = row[0];
    bool probabilities = true;
    for (int i = 0; i < n; ++i) {
      sum += row[i];
      highest = std::max(highest, row[i]);
      probabilities = probabilities && row[i] >= 0.f && row[i] <= 1.f;
    }
    if (probabilities && std::abs(sum - 1.f) < 1e-3f) return row[index];
    double total = 0.0;
    for (int i = 0; i < n; ++i) total += std::exp(double(row[i]) - highest);
    return static_cast<float>(std::exp(double(row[index]) - highest) / total);
  }

  ModelSpec spec_;
  DnnNetPool nets_;  // one instance per concurrent caller
};

class NetworkLivenessChecker final : public LivenessChecker {
 public:
  NetworkLivenessChecker(std::string name, std::vector<std::unique_ptr<LivenessNetwork>> members, float threshold,
                         const LivenessOptions& options)
      : name_(std::move(name)), members_(std::move(members)), threshold_(threshold), options_(options) {}

  std::vector<LivenessResult> check(const cv::Mat& bgr, const std::vector<Detection>& faces) const override {
    std::vector<LivenessResult> results(faces.size());
    for (auto& result : results) result.threshold = threshold_;
    if (bgr.empty() || bgr.depth() != CV_8U || (bgr.channels() != 3 && bgr.channels() != 1)) {
      for (auto& result : results) result.reason = "not an 8-bit colour image";
      return results;
    }
    // Per member, the crops of the faces that every member can judge.
    std::vector<std::vector<cv::Mat>> crops(members_.size());
    std::vector<std::size_t> judged;
    for (std::size_t f = 0; f < faces.size(); ++f) {
      std::vector<cv::Rect> rois;
      for (const auto& member : members_) {
        const LivenessCrop crop = liveness_crop(bgr.size(), faces[f].box, member->spec(), options_);
        if (!crop.cannot_judge.empty()) {
          results[f].reason = crop.cannot_judge;
          break;
        }
        rois.push_back(crop.roi);
      }
      if (!results[f].reason.empty()) continue;
      if (is_grayscale(bgr, rois.front())) {
        results[f].reason = "grayscale image: liveness needs colour";
        continue;
      }
      for (std::size_t m = 0; m < members_.size(); ++m) crops[m].push_back(bgr(rois[m]));
      judged.push_back(f);
    }
    if (judged.empty()) return results;
    std::vector<float> mean(judged.size(), 0.f);
    for (std::size_t m = 0; m < members_.size(); ++m) {
      const auto live = members_[m]->live_probabilities(crops[m]);
      for (std::size_t i = 0; i < judged.size(); ++i) mean[i] += live[i] / static_cast<float>(members_.size());
    }
    for (std::size_t i = 0; i < judged.size(); ++i) {
      LivenessResult& result = results[judged[i]];
      result.score = std::clamp(mean[i], 0.f, 1.f);
      result.is_live = *result.score >= threshold_;
    }
    return results;
  }

  float threshold() const override { return threshold_; }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  std::vector<std::unique_ptr<LivenessNetwork>> members_;
  float threshold_;
  LivenessOptions options_;
};

}  // namespace

std::unique_ptr<LivenessChecker> create_liveness_checker(const ModelSpec& spec, const ModelManifest& manifest,
                                                         const ModelFileResolver& resolve,
                                                         const LivenessOptions& options) {
  if (spec.kind != ModelKind::kLiveness)
    throw Error(ErrorCode::kBadRequest,
                "model " + spec.name + " is a " + model_kind_name(spec.kind) + " model, not a liveness model");
  float threshold = 0.f;
  if (options.threshold) {
    threshold = *options.threshold;
  } else if (const auto it = spec.thresholds.find("live"); it != spec.thresholds.end()) {
    threshold = it->second;
  } else {
    throw Error(ErrorCode::kBadRequest, "the manifest has no live threshold for " + spec.name +
                                            ": pass one or run `faceid calibrate --liveness`");
  }
  if (!(threshold >= 0.f && threshold <= 1.f))
    throw Error(ErrorCode::kBadRequest, "a liveness threshold is a probability in [0, 1]");
  std::vector<std::unique_ptr<LivenessNetwork>> members;
  if (spec.format == "fusion") {
    for (const auto& name : spec.members) {
      const ModelSpec& member = manifest.get(name);
      if (member.kind != ModelKind::kLiveness || member.format != "softmax_classifier")
        throw Error(ErrorCode::kModelInvalid,
                    "liveness fusion " + spec.name + ": member " + name + " must be a liveness network");
      members.push_back(std::make_unique<LivenessNetwork>(member, resolve(member)));
    }
  } else if (spec.format == "softmax_classifier") {
    members.push_back(std::make_unique<LivenessNetwork>(spec, resolve(spec)));
  } else {
    throw Error(ErrorCode::kModelInvalid, "liveness model " + spec.name + " has unknown format " + spec.format);
  }
  return std::make_unique<NetworkLivenessChecker>(spec.name, std::move(members), threshold, options);
}

}  // namespace faceid
