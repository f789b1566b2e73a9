// faceid serve: the REST API over named collections (see docs/openapi.json).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <iostream>
#include <thread>

#include "cli.hpp"
#include "faceid/error.hpp"
#include "faceid/server.hpp"

namespace faceid::cli {

namespace {

struct ServeOptions {
  std::string data_dir = default_server_data_dir();
  std::string store_template;
  ServerOptions server;
  double max_body_mb = 32;
  std::optional<std::int64_t> max_pixels;  // overrides the max_image_pixels key
};

void serve(const GlobalOptions& globals, ServeOptions options) {
  EngineConfig config = globals.engine_config();
  if (options.max_pixels) config.limits.max_decoded_pixels = *options.max_pixels;
  options.server.image_limits = config.limits;
  // The face cap bounds the detector's per-face work (landmarks) as well as the embeddings.
  config.detection.max_faces = options.server.max_faces_per_image;
  const auto models = Pipeline::open(config);  // collections hold the galleries
  // `faceid --store postgresql://... serve`: the collections live in that database.
  const std::string& store = globals.config.gallery;
  if (options.store_template.empty() && is_postgres_uri(store))
    options.store_template = store;
  CollectionSet collections(*models, {options.data_dir, options.store_template});
  // Every collection opens now, so a database that cannot be reached (after retrying with
  // back-off) or a damaged store stops the server here rather than failing its first requests.
  collections.list();
  ApiKeyStore keys(options.data_dir + "/keys.json");
  if (options.server.require_auth && !keys.has_admin_key())
    throw Error(ErrorCode::kBadRequest, "no admin API key in " + options.data_dir +
                                            ": create one with `faceid keys create --admin` (or serve with --no-auth)");
  options.server.max_body_bytes = static_cast<std::size_t>(options.max_body_mb * (1 << 20));
  RestServer server(*models, collections, keys, options.server);
  const int port = server.bind();
  std::cerr << "faceid: serving " << (server.tls() ? "https" : "http") << "://" << options.server.host << ":"
            << port << " (data " << options.data_dir << ", model " << models->embedder_model_id() << ")\n";

  // SIGTERM/SIGINT are taken by one thread (sigwait), which stops the server; the
  // server then finishes the requests in flight and the stores close cleanly.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::atomic<bool> finished{false};
  std::thread watcher([&] {
    int received = 0;
    sigwait(&signals, &received);
    if (!finished) std::cerr << "faceid: signal " << received << ", finishing requests in flight\n";
    server.stop();
  });
  server.run();
  finished = true;
  pthread_kill(watcher.native_handle(), SIGTERM);  // wakes the watcher when run() ended by itself
  watcher.join();
  std::cerr << "faceid: stopped\n";
}

}  // namespace

void add_serve_command(CLI::App& app, GlobalOptions& globals, RunState& state) {
  (void)state;
  auto options = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "Serve the REST API (collections, recognize, verify, detect, embed); "
                                          "the engine reads the global keys, e.g. from --config FILE.json");
  cmd->add_option("--data-dir", options->data_dir, "Folder of collections and API keys (env FACEID_DATA_DIR)")
      ->capture_default_str();
  cmd->add_option("--store,--store-template", options->store_template,
                  "Store of the collections: a URI with {name}, or a postgresql:// URI that holds them all "
                  "(default: <data-dir>/collections/{name}.db)");
  cmd->add_option("--host", options->server.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", options->server.port, "Port (0 = any free port)")->capture_default_str();
  cmd->add_option("--threads", options->server.threads, "Connections served at once (one thread each)")
      ->capture_default_str();
  cmd->add_option("--max-connections-per-client", options->server.max_connections_per_client,
                  "Open connections per client address; more get 503")->capture_default_str();
  cmd->add_option("--workers", options->server.workers, "Requests doing image work at once (each one's inference already uses every core)")
      ->capture_default_str();
  cmd->add_option("--queue", options->server.max_waiting,
                  "Requests waiting for a worker (-1 = 1 per worker); more get 503 with Retry-After")
      ->capture_default_str();
  cmd->add_option("--max-body-mb", options->max_body_mb, "Largest request body in MiB")->capture_default_str();
  cmd->add_option("--max-faces", options->server.max_faces_per_image, "Faces detected, embedded and reported per image, largest first")
      ->capture_default_str();
  cmd->add_option("--queue-timeout-ms", options->server.max_queue_wait_ms,
                  "A request that waited longer for a worker gets 503 with Retry-After instead of a late answer")
      ->capture_default_str();
  cmd->add_option("--max-pixels", options->max_pixels, "Images with more pixels are refused (the max_image_pixels key)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{10'000'000'000}));
  cmd->add_option("--timeout", options->server.read_timeout_seconds, "Seconds to read a whole request (head and body)")
      ->capture_default_str();
  cmd->add_option("--tls-cert", options->server.tls_cert_file, "PEM certificate: serve HTTPS");
  cmd->add_option("--tls-key", options->server.tls_key_file, "PEM private key of --tls-cert");
  cmd->add_flag("!--no-auth", options->server.require_auth, "Accept requests without API keys (local development)");
  cmd->add_flag("--allow-public-no-auth", options->server.allow_public_without_auth,
                "Allow --no-auth with a --host other machines can reach (face data open to that network)");
  cmd->callback([options, &globals] { serve(globals, *options); });
}

}  // namespace faceid::cli
