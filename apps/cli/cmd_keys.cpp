// faceid keys create|rotate|revoke|list: API keys of the REST server.
#include <iostream>

#include "cli.hpp"
#include "faceid/error.hpp"
#include "faceid/server.hpp"
#include "output.hpp"

namespace faceid::cli {

namespace {

nlohmann::json key_json(const ApiKeyInfo& info, const std::string& secret = {}) {
  return nlohmann::json::parse(api_key_json(info, secret));
}

void print_created(const ApiKeyStore::Created& created) {
  print_json_line(key_json(created.info, created.secret));
  std::cerr << "store this key now: only its salted hash is kept\n";
}

}  // namespace

void add_keys_command(CLI::App& app, GlobalOptions& globals, RunState& state) {
  (void)state;
  auto data_dir = std::make_shared<std::string>(default_server_data_dir());
  auto* keys = app.add_subcommand("keys", "Manage the REST server's API keys");
  keys->add_option("--data-dir", *data_dir, "Server data folder (env FACEID_DATA_DIR)")->capture_default_str();
  keys->require_subcommand(1);
  const auto store = [data_dir] { return ApiKeyStore(*data_dir + "/keys.json"); };

  auto collection = std::make_shared<std::string>();
  auto admin = std::make_shared<bool>(false);
  auto* create = keys->add_subcommand("create", "Create a key for one collection (or --admin); prints it once");
  auto* scope = create->add_option_group("scope")->require_option(1);
  scope->add_option("--collection", *collection, "Collection the key may use");
  scope->add_flag("--admin", *admin, "Key for every collection and for collection management");
  create->callback([store, collection] { print_created(store().create(*collection, cli_audit_actor())); });

  auto id = std::make_shared<std::string>();
  auto* rotate = keys->add_subcommand("rotate", "Replace a key's secret (the old one stops working)");
  rotate->add_option("id", *id, "Key id (see `faceid keys list`)")->required();
  rotate->callback([store, id] { print_created(store().rotate(*id, cli_audit_actor())); });

  auto* revoke = keys->add_subcommand("revoke", "Delete a key");
  revoke->add_option("id", *id, "Key id")->required();
  revoke->callback([store, id] {
    store().revoke(*id, cli_audit_actor());
    std::cerr << "revoked " << *id << "\n";
  });

  auto* list = keys->add_subcommand("list", "List keys (ids and scopes; secrets are never shown)");
  list->callback([store, &globals] {
    const auto infos = store().list();
    if (globals.output_format() == OutputFormat::kJson) {
      for (const auto& info : infos) print_json_line(key_json(info));
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& info : infos)
        rows.push_back({info.id, info.admin() ? "admin" : info.collection, info.created_at});
      print_table({"ID", "SCOPE", "CREATED"}, rows);
    }
  });
}

}  // namespace faceid::cli
