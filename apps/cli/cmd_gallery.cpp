// Gallery management: people, remove, rename, export, import, reindex, audit.
#include <iostream>

#include "cli.hpp"
#include "faceid/error.hpp"
#include "faceid/json.hpp"
#include "output.hpp"

namespace faceid::cli {

namespace {

void add_people_commands(CLI::App& app, GlobalOptions& globals) {
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
    auto store = open_store(globals.config.gallery);
    store->set_audit_actor(cli_audit_actor());
    store->remove_person(*name);
    std::cerr << "removed " << *name << "\n";
  });

  auto names = std::make_shared<std::vector<std::string>>();
  auto* rename = app.add_subcommand("rename", "Rename a person");
  rename->add_option("names", *names, "OLD NEW")->required()->expected(2);
  rename->callback([names, &globals] {
    auto store = open_store(globals.config.gallery);
    store->set_audit_actor(cli_audit_actor());
    store->rename_person((*names)[0], (*names)[1]);
    std::cerr << "renamed " << (*names)[0] << " to " << (*names)[1] << "\n";
  });
}

void add_embedding_commands(CLI::App& app, GlobalOptions& globals) {
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
    auto engine = Engine::open(globals.engine_config());
    engine->set_audit_actor(cli_audit_actor());
    const int added = engine->import_embeddings(*file);
    std::cerr << "imported " << added << " faces (faces already present were skipped)\n";
  });

  auto* reindex = app.add_subcommand("reindex", "Recompute every embedding with the current embedder");
  reindex->callback([&globals] {
    auto engine = Engine::open(globals.engine_config());
    engine->set_audit_actor(cli_audit_actor());
    const ReindexReport report = engine->reindex();
    print_json_line({{"from_model", report.from_model},
                     {"to_model", report.to_model},
                     {"faces_reindexed", report.faces_reindexed}});
  });
}

void add_audit_command(CLI::App& app, GlobalOptions& globals) {
  auto query = std::make_shared<AuditQuery>();
  auto* audit = app.add_subcommand("audit", "Show the gallery's audit log of writes, newest first");
  audit->add_option("--since", query->since, "Only writes at or after this UTC date or time (2026-01-31T12:00:00Z)");
  audit->add_option("--limit", query->limit, "At most this many entries (1-" + std::to_string(AuditQuery::kMaxLimit) + ")")
      ->capture_default_str();
  audit->callback([query, &globals] {
    const auto entries = open_store(globals.config.gallery)->audit(*query);
    if (globals.output_format() == OutputFormat::kJson) {
      for (const auto& entry : entries) print_json_line(audit_entry_json(entry));
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : entries)
      rows.push_back({e.at, e.actor, e.action, e.person + (e.new_name.empty() ? "" : " -> " + e.new_name),
                      std::to_string(e.face_count)});
    print_table({"AT", "ACTOR", "ACTION", "PERSON", "FACES"}, rows);
  });
}

}  // namespace

void add_gallery_commands(CLI::App& app, GlobalOptions& globals, RunState& /*state*/) {
  add_people_commands(app, globals);
  add_embedding_commands(app, globals);
  add_audit_command(app, globals);
}

}  // namespace faceid::cli
