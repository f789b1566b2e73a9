// `faceid`: the command-line front-end. Every command is a thin layer over the library.
#include <iostream>

#include <opencv2/core/utils/logger.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
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
  // Logs go to stderr: stdout carries the results (JSON lines a caller parses).
  spdlog::set_default_logger(spdlog::stderr_color_mt("faceid"));

  add_config_flags(app, globals);
  app.add_option("--format", globals.format, "Output: json (one object per line) | table")
      ->check(CLI::IsMember({"json", "table"}))
      ->envname("FACEID_FORMAT")
      ->capture_default_str();
  app.add_flag("-v,--verbose", globals.verbose, "Log progress on stderr");

  app.parse_complete_callback([&globals] {
    globals.resolve_config();
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
