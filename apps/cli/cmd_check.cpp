// faceid check: full integrity check of the gallery (exit 0 = intact, 2 = damaged).
#include <iostream>

#include "cli.hpp"
#include "faceid/store_check.hpp"
#include "output.hpp"

namespace faceid::cli {

void add_check_command(CLI::App& app, GlobalOptions& globals, RunState& state) {
  auto* cmd = app.add_subcommand("check", "Check every page, index and link of the gallery (read-only)");
  cmd->callback([&globals, &state] {
    const StoreCheck check = check_store(globals.config.gallery);
    if (globals.output_format() == OutputFormat::kJson) {
      print_json_line({{"gallery", globals.config.gallery},
                       {"intact", check.intact},
                       {"checked", check.checked},
                       {"problems", check.problems}});
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& problem : check.problems) rows.push_back({problem});
      if (rows.empty()) rows.push_back({"none: " + check.checked});
      print_table({"PROBLEM"}, rows);
    }
    if (!check.intact) std::cerr << "faceid: gallery " << globals.config.gallery << " is damaged. " << damaged_store_advice() << "\n";
    state.exit_code = check.intact ? 0 : 2;
  });
}

}  // namespace faceid::cli
