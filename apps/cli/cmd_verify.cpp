// faceid verify A B: exit 0 = same person, 1 = different, 2 = error.
#include "cli.hpp"
#include "faceid/error.hpp"
#include "output.hpp"

namespace faceid::cli {

void add_verify_command(CLI::App& app, GlobalOptions& globals, RunState& state) {
  auto images = std::make_shared<std::vector<std::string>>();
  auto liveness = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("verify", "Are two faces the same person? (exit 0 = same, 1 = different)");
  cmd->add_option("images", *images, "Two image files")->required()->expected(2);
  add_liveness_flag(cmd, *liveness);
  cmd->callback([images, liveness, &globals, &state] {
    EngineConfig config = globals.engine_config();
    config.liveness.enabled = config.liveness.enabled || *liveness;  // the flag here, or the global key
    auto engine = Engine::open(config);
    const auto& limits = engine->config().limits;
    const VerifyResult result =
        engine->verify(load_image((*images)[0], limits), load_image((*images)[1], limits));
    if (globals.output_format() == OutputFormat::kJson) {
      auto j = verify_json(result);
      j["a"] = (*images)[0];
      j["b"] = (*images)[1];
      print_json_line(j);
    } else {
      print_table({"SAME", "SCORE", "THRESHOLD", "METRIC"},
                  {{result.same_person ? "yes" : "no", format_score(result.score), format_score(result.threshold),
                    metric_name(result.metric)}});
    }
    state.exit_code = result.same_person ? 0 : 1;
  });
}

}  // namespace faceid::cli
