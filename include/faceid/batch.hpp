#pragma once
// Identifying many image files at once, on every core.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "faceid/engine.hpp"
#include "faceid/error.hpp"

namespace faceid {

// The faces of one file, or why it could not be read.
struct FileIdentification {
  std::string file;
  std::vector<FaceResult> faces;
  std::optional<Error> error;  // bad_image, not_found, io_error ...
};

// Identifies every file with one worker per hardware thread, each on one OpenCV thread (less CPU
// per image than one image at a time on OpenCV's pool: docs/performance.md, "Threads"), and hands
// the results to `on_result` in input order, each as soon as it and those before it are done. A
// single file runs on OpenCV's pool instead (the lowest latency). Errors other than the file's own
// (a model that fails) stop the run and are rethrown.
void identify_files(const Engine& engine, const std::vector<std::string>& files,
                    const std::function<void(const FileIdentification&)>& on_result);

}  // namespace faceid
