// `faceid`: the command-line front-end. Every command is a thin layer over the library.
#include <iostream>

#include <opencv2/core/utils/logger.hpp>
#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "faceid/error.hpp"

int main(int argc, char** argv) {
  using namespace faceid::cli;
  CLI::App app{"FaceID: enroll people, then identify and verify faces in images and video."};
  app.require_subcommand(1);
  // Sub-commands created below inherit this: a global option typed after the sub-command
  // (`faceid people --format table`) is handed back to the top level instead of refused.
  app.fallthrough();
  app.set_version_flag("--version", "faceid 0.1.0");
  GlobalOptions globals;
  RunState state;

  app.add_option("--gallery,--store", globals.gallery,
                 "Gallery store: SQLite file path or postgresql://user@host/db URI")
      ->envname("FACEID_GALLERY")
      ->capture_default_str();
  app.add_option("--model-dir", globals.model_dir, "Folder of installed models")
      ->envname("FACEID_MODEL_DIR")
      ->capture_default_str();
  app.add_option("--model-path", globals.extra_model_dirs, "Extra folders searched for model files");
  app.add_option("--manifest", globals.manifest, "Model manifest file (default: builtin + <model-dir>/manifest.json)");
  app.add_option("--detector", globals.detector, "Detector model name from the manifest")->capture_default_str();
  app.add_option("--embedder", globals.embedder, "Embedder model name from the manifest")->capture_default_str();
  app.add_option("--detector-file", globals.detector_file, "Use this detector file instead of the manifest's");
  app.add_option("--embedder-file", globals.embedder_file, "Use this embedder file instead of the manifest's");
  app.add_option("--metric", globals.metric, "cosine | euclidean | euclidean_l2")->capture_default_str();
  app.add_option("--policy", globals.policy, "Person score over their faces: max | mean | topk")
      ->capture_default_str();
  app.add_option("--index", globals.index, "Face search: exact (default) | int8-scan | hnsw | ivf-sq8 | auto (exact, HNSW from 200k faces)")
      ->capture_default_str();
  app.add_option("--score-norm", globals.norm,
                 "Cohort score normalisation for identify/verify/watch/serve: none | znorm | tnorm | snorm | asnorm "
                 "(the gallery's other people are the cohort)")
      ->capture_default_str();
  app.add_option("--cohort-gallery", globals.cohort_gallery,
                 "Extra cohort: a gallery store of other people's faces (enrolled once, never matched)");
  app.add_option("--index-snapshot", globals.index_snapshot,
                 "With --index hnsw: keep the graph in this file and reuse it at the next start");
  app.add_option("--threshold", globals.threshold, "Decision threshold (default: the manifest's for the metric)");
  // The detector's settings: the same knobs as REST's det_threshold and min_face_size.
  app.add_option("--det-threshold", globals.det_threshold,
                 "Detection threshold in [0, 1]: faces the detector scores lower are ignored (default 0.6)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--min-face-size", globals.min_face_size,
                 "Faces whose shorter box side has fewer pixels are ignored (default 20)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--no-align", globals.no_align, "Crop the detector box instead of 5-point alignment");
  app.add_flag("--flip", globals.flip, "Test-time augmentation: also embed the mirror image");
  app.add_option("--liveness-model", globals.liveness_model, "Liveness model name from the manifest (with --liveness)")
      ->capture_default_str();
  app.add_option("--liveness-file", globals.liveness_file, "Use this liveness model file instead of the manifest's");
  app.add_option("--liveness-threshold", globals.liveness_threshold,
                 "Live score a face needs (default: the manifest's, see `faceid calibrate --liveness`)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--format", globals.format, "Output: json (one object per line) | table")
      ->check(CLI::IsMember({"json", "table"}))
      ->envname("FACEID_FORMAT")
      ->capture_default_str();
  app.add_flag("-v,--verbose", globals.verbose, "Log progress on stderr");

  app.parse_complete_callback([&globals] {
    spdlog::set_level(globals.verbose ? spdlog::level::debug : spdlog::level::warn);
    // OpenCV's own warnings (GStreamer / V4L back-end probing while opening a video) are noise
    // to a user unless they asked for -v; real failures still reach them as errors.
    cv::utils::logging::setLogLevel(globals.verbose ? cv::utils::logging::LOG_LEVEL_INFO
                                                    : cv::utils::logging::LOG_LEVEL_ERROR);
  });

  add_enroll_command(app, globals, state);
  add_identify_command(app, globals, state);
  add_verify_command(app, globals, state);
  add_gallery_commands(app, globals, state);
  add_models_commands(app, globals, state);
  add_watch_command(app, globals, state);
  add_capture_command(app, globals, state);
  add_eval_command(app, globals, state);
#ifdef FACEID_WITH_SERVER
  add_serve_command(app, globals, state);
  add_keys_command(app, globals, state);
#endif
  add_check_command(app, globals, state);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const faceid::Error& e) {
    std::cerr << "faceid: " << faceid::error_code_name(e.code()) << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "faceid: internal error: " << e.what() << "\n";
    return 2;
  }
  return state.exit_code;
}
