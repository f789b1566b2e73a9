// Runs the engine over many images on every core, with the embedding cache.
#include <atomic>
#include <exception>
#include <filesystem>
#include <memory>
#include <thread>

#include "core/opencv_threads.hpp"
#include "eval/embedding_cache.hpp"
#include "eval/progress.hpp"
#include "faceid/error.hpp"
#include "faceid/eval.hpp"

namespace faceid::eval {

namespace {

// Part of every cache key: bump it whenever detection, landmark or alignment code changes
// what it produces, so a cache written by older code is never read as current.
constexpr const char* kPipelineRevision = "r5";

struct CacheKeys {
  std::string detection, embedding;
};

CacheKeys cache_keys(const Engine& engine, const std::string& content_sha256) {
  const EngineConfig& config = engine.config();
  const DetectorOptions& d = config.detection;
  const std::string detector = (config.detector_file.empty() ? config.detector : config.detector_file) + "|" +
                               std::to_string(d.score_threshold) + "|" + std::to_string(d.nms_threshold) + "|" +
                               std::to_string(d.min_face_size) + (config.detect_retry ? "|retry" : "") +
                               (config.fallback_detector.empty() ? "" : "|fallback=" + config.fallback_detector);
  CacheKeys keys;
  keys.detection = content_sha256 + "|" + kPipelineRevision + "|" + detector;
  keys.embedding = keys.detection + "|" + engine.embedder_model_id() + (config.embedder_file.empty() ? "" : "|" + config.embedder_file) +
                   (config.align ? "|aligned" : "|cropped") + (config.embedding.flip_augment ? "|flip" : "|noflip");
  return keys;
}

ImageFace failure(ErrorCode error, const std::string& message) {
  ImageFace face;
  face.error = error;
  face.message = message;
  return face;
}

ImageFace embed_one(const Engine& engine, const std::string& path, EmbeddingCache* cache) {
  const ImageLimits& limits = engine.config().limits;
  std::vector<std::uint8_t> bytes;
  try {
    bytes = read_file_bytes(path, limits.max_file_bytes);
  } catch (const Error& e) {
    return failure(e.code(), e.what());
  }
  const CacheKeys keys = cache_keys(engine, sha256_hex(bytes.data(), bytes.size()));
  if (cache) {
    if (const auto cached = cache->embedding(keys.embedding)) {
      if (!*cached) return failure(ErrorCode::kNoFace, path + ": no face found");
      ImageFace face;
      face.embedding = **cached;
      return face;
    }
  }
  cv::Mat image;
  try {
    image = decode_image(bytes, limits);
  } catch (const Error& e) {
    return failure(ErrorCode::kBadImage, path + ": " + e.what());
  }
  limit_pixels(image, limits.max_working_pixels);
  try {
    std::optional<Detection> largest;
    const auto cached_detection = cache ? cache->detection(keys.detection) : std::nullopt;
    if (cached_detection) {
      largest = *cached_detection;
    } else {
      const auto faces = engine.detect(image);
      if (!faces.empty()) largest = subject_face(faces);
      if (cache) cache->put_detection(keys.detection, largest);
    }
    if (!largest) {
      if (cache) cache->put_embedding(keys.embedding, std::nullopt);
      return failure(ErrorCode::kNoFace, path + ": no face found");
    }
    ImageFace face;
    face.embedding = engine.embed(image, {*largest}).front();
    if (cache) cache->put_embedding(keys.embedding, face.embedding);
    return face;
  } catch (const Error& e) {
    // Problems of this image only; anything else (a model that fails) stops the run.
    if (e.code() == ErrorCode::kBadImage || e.code() == ErrorCode::kNoFace) return failure(e.code(), path + ": " + e.what());
    throw;
  }
}

}  // namespace

const char* face_status_name(const std::optional<ErrorCode>& error) {
  if (!error) return "ok";
  if (*error == ErrorCode::kNoFace || *error == ErrorCode::kBadImage) return error_code_name(*error);
  return "missing";
}

std::string default_cache_path(const std::string& model_dir) {
  const auto models = std::filesystem::path(model_dir).lexically_normal();
  const auto base = models.has_filename() ? models : models.parent_path();
  return (base.parent_path() / "cache" / "eval_cache.db").string();
}

std::vector<ImageFace> embed_images(const Engine& engine, const std::vector<std::string>& paths,
                                    const RunOptions& options) {
  std::unique_ptr<EmbeddingCache> cache;
  if (!options.cache_path.empty()) cache = std::make_unique<EmbeddingCache>(options.cache_path);
  const int threads = options.threads > 0 ? options.threads
                                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<ImageFace> results(paths.size());
  std::atomic<std::size_t> next{0};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  {
    SingleThreadedOpenCv opencv_threads;
    ProgressBar progress(options.label, paths.size(), options.progress);
    auto work = [&] {
      for (std::size_t i = next++; i < paths.size(); i = next++) {
        try {
          results[i] = embed_one(engine, paths[i], cache.get());
        } catch (...) {
          // A model or cache failure concerns every image: stop everyone.
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!first_error) first_error = std::current_exception();
          next = paths.size();
          return;
        }
        progress.advance();
      }
    };
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) workers.emplace_back(work);
    for (auto& worker : workers) worker.join();
  }
  if (first_error) std::rethrow_exception(first_error);
  if (cache) cache->flush();
  return results;
}

}  // namespace faceid::eval
