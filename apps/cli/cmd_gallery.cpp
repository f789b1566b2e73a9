// Gallery management: people, remove, rename, export, import, reindex.
#include <iostream>

#include "cli.hpp"
#include "faceid/error.hpp"
#include "output.hpp"

namespace faceid::cli {

void add_gallery_commands(CLI::App& app, GlobalOptions& globals, RunState& state) {
  (void)state;
  auto* people = app.add_subcommand("people", "List enrolled people with their face counts");
  people->callback([&globals] {
    auto store = open_store(globals.config.gallery);
    const auto list = store->people();
    if (globals.output_format() == OutputFormat::kJson) {
      for (const auto& p : list)
        print_json_line({{"person", p.name}, {"faces", p.face_count}, {"created_at", p.created_at}});
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& p : list) rows.push_back({p.name, std::to_string(p.face_count), p.created_at});
      print_table({"PERSON", "FACES", "CREATED"}, rows);
    }
  });

  auto name = std::make_shared<std::string>();
  auto* remove = app.add_subcommand("remove", "Remove a person and all their faces");
  remove->add_option("name", *name, "Person to remove")->required();
  remove->callback([name, &globals] {
    open_store(globals.config.gallery)->remove_person(*name);
    std::cerr << "removed " << *name << "\n";
  });

  auto names = std::make_shared<std::vector<std::string>>();
  auto* rename = app.add_subcommand("rename", "Rename a person");
  rename->add_option("names", *names, "OLD NEW")->required()->expected(2);
  rename->callback([names, &globals] {
    open_store(globals.config.gallery)->rename_person((*names)[0], (*names)[1]);
    std::cerr << "renamed " << (*names)[0] << " to " << (*names)[1] << "\n";
  });

  auto file = std::make_shared<std::string>();
  auto* exporter = app.add_subcommand("export", "Write all embeddings (no photos) to a JSON file");
  exporter->add_option("file", *file, "Output file")->required();
  exporter->callback([file, &globals] {
    Engine::open(globals.engine_config())->export_embeddings(*file);
    std::cerr << "exported the gallery's embeddings to " << *file << "\n";
  });

  auto* importer = app.add_subcommand("import", "Add embeddings from a file written by `faceid export`");
  importer->add_option("file", *file, "Embeddings file")->required()->check(CLI::ExistingFile);
  importer->callback([file, &globals] {
    const int added = Engine::open(globals.engine_config())->import_embeddings(*file);
    std::cerr << "imported " << added << " faces (faces already present were skipped)\n";
  });

  auto* reindex = app.add_subcommand("reindex", "Recompute every embedding with the current embedder");
  reindex->callback([&globals] {
    const ReindexReport report = Engine::open(globals.engine_config())->reindex();
    print_json_line({{"from_model", report.from_model},
                     {"to_model", report.to_model},
                     {"faces_reindexed", report.faces_reindexed}});
  });
}

}  // namespace faceid::cli
