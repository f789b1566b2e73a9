// The catalog of named collections in a data folder.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>

#include <nlohmann/json.hpp>

#include "core/private_files.hpp"
#include "core/utc_time.hpp"
#include "faceid/error.hpp"
#include "faceid/server.hpp"
#include "server/files.hpp"

namespace faceid {

namespace {

std::string catalog_path(const std::string& data_dir) { return data_dir + "/collections.json"; }

const std::string& require_data_dir(const std::string& data_dir) {
  if (data_dir.empty()) throw Error(ErrorCode::kBadRequest, "the server needs a data folder");
  return data_dir;
}

AuditEntry collection_entry(const char* action, const std::string& name, const std::string& actor) {
  AuditEntry entry;
  entry.action = action;
  entry.actor = actor;
  entry.collection = name;
  return entry;
}

// The SQLite file a store URI names, "" for other backends.
std::string sqlite_file_of(const std::string& uri) {
  if (uri.rfind("sqlite:", 0) == 0) return uri.substr(7);
  return uri.find("://") == std::string::npos ? uri : std::string();
}

// An exclusive lock on DATA_DIR/collections.json.lock for one read-modify-write of the catalog.
class CatalogLock {
 public:
  explicit CatalogLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) {
      if (fd_ >= 0) ::close(fd_);
      throw Error(ErrorCode::kIo, "cannot lock " + path);
    }
  }
  ~CatalogLock() { ::close(fd_); }  // closing releases the lock
  CatalogLock(const CatalogLock&) = delete;
  CatalogLock& operator=(const CatalogLock&) = delete;

 private:
  int fd_;
};

}  // namespace

namespace {

std::string new_generation() {
  std::random_device device;
  std::uniform_int_distribution<unsigned long long> any;
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", any(device));
  return text;
}

}  // namespace

std::string default_server_data_dir() {
  if (const char* env = std::getenv("FACEID_DATA_DIR"); env && *env) return env;
  return (std::filesystem::path(default_gallery_path()).parent_path() / "server").string();
}

struct CollectionSet::Impl {
  struct CatalogEntry {
    std::string created_at;
    bool liveness = false;
    // Tells apart two collections of one name created one after the other (on any replica).
    std::string generation;
  };
  struct OpenCollection {
    std::shared_ptr<Collection> collection;
    std::string generation;  // of the catalog entry it was opened for
  };

  Impl(const Pipeline& pipeline, CollectionSetOptions set_options);

  std::string store_uri(const std::string& name) const;
  // Replicas may share the data folder and so the catalog file: it is re-read whenever another
  // process replaced it, and changed only under an exclusive lock on a file beside it.
  void refresh_catalog_locked();
  void load_catalog_locked();
  void save_catalog_locked();
  std::shared_ptr<Collection> open_locked(const std::string& name);

  const Pipeline& models;
  CollectionSetOptions options;
  ServerAuditLog audit_log;
  std::mutex mutex;
  std::map<std::string, CatalogEntry> catalog;
  std::int64_t catalog_mtime_ns = 0;  // of the catalog file last read
  std::map<std::string, OpenCollection> open_collections;
};

CollectionSet::Impl::Impl(const Pipeline& pipeline, CollectionSetOptions set_options)
    : models(pipeline),
      options(std::move(set_options)),
      audit_log(server_audit_log_path(require_data_dir(options.data_dir))) {
  if (options.store_uri_template.empty())
    options.store_uri_template = "sqlite:" + options.data_dir + "/collections/{name}.db";
  // One PostgreSQL database holds every collection, each a gallery of its shared tables.
  const auto& uri = options.store_uri_template;
  if (is_postgres_uri(uri) && uri.find("{name}") == std::string::npos)
    options.store_uri_template += std::string(uri.find('?') == std::string::npos ? "?" : "&") + "gallery={name}";
  if (options.store_uri_template.find("{name}") == std::string::npos)
    throw Error(ErrorCode::kBadRequest, "the store URI template must contain {name}");
  // Collection databases hold face data: the folders FaceID creates are private (0700).
  create_private_directories(options.data_dir + "/collections");
  load_catalog_locked();
}

std::string CollectionSet::Impl::store_uri(const std::string& name) const {
  std::string uri = options.store_uri_template;
  uri.replace(uri.find("{name}"), 6, name);
  return uri;
}

void CollectionSet::Impl::load_catalog_locked() {
  const std::string path = catalog_path(options.data_dir);
  const std::int64_t mtime = server_detail::file_mtime_ns(path);
  const std::string text = server_detail::read_text_file(path);
  std::map<std::string, CatalogEntry> loaded;
  if (!text.empty()) {
    try {
      const auto root = nlohmann::json::parse(text);
      for (const auto& entry : root.at("collections"))
        loaded[entry.at("name").get<std::string>()] = {entry.value("created_at", ""), entry.value("liveness", false),
                                                       entry.value("generation", "")};
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::kCorruptStore, path + " is damaged: " + e.what());
    }
  }
  catalog = std::move(loaded);
  catalog_mtime_ns = mtime;
  // Collections another replica removed (or removed and created again) are closed here too.
  for (auto it = open_collections.begin(); it != open_collections.end();) {
    const auto entry = catalog.find(it->first);
    const bool current = entry != catalog.end() && entry->second.generation == it->second.generation;
    it = current ? std::next(it) : open_collections.erase(it);
  }
}

void CollectionSet::Impl::refresh_catalog_locked() {
  if (server_detail::file_mtime_ns(catalog_path(options.data_dir)) != catalog_mtime_ns) load_catalog_locked();
}

void CollectionSet::Impl::save_catalog_locked() {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, entry] : catalog)
    list.push_back({{"name", name}, {"created_at", entry.created_at}, {"liveness", entry.liveness},
                    {"generation", entry.generation}});
  const std::string path = catalog_path(options.data_dir);
  server_detail::write_file_atomically(path, nlohmann::json{{"collections", list}}.dump(2) + "\n", false);
  catalog_mtime_ns = server_detail::file_mtime_ns(path);
}

std::shared_ptr<Collection> CollectionSet::Impl::open_locked(const std::string& name) {
  const auto entry = catalog.find(name);
  auto& slot = open_collections[name];
  if (!slot.collection) {
    slot.collection = std::make_shared<Collection>(name, models, open_store(store_uri(name)),
                                                   options.data_dir + "/collections/" + name + ".hnsw");
    slot.generation = entry != catalog.end() ? entry->second.generation : "";
  }
  if (entry != catalog.end()) slot.collection->set_liveness_default(entry->second.liveness);
  return slot.collection;
}

CollectionSet::CollectionSet(const Pipeline& models, CollectionSetOptions options)
    : impl_(std::make_unique<Impl>(models, std::move(options))) {}

CollectionSet::~CollectionSet() = default;

std::string CollectionSet::store_uri(const std::string& name) const { return impl_->store_uri(name); }

std::shared_ptr<Collection> CollectionSet::create(const std::string& name, bool liveness, const std::string& actor) {
  require_valid_name(name, "collection");
  std::lock_guard lock(impl_->mutex);
  const CatalogLock file_lock(catalog_path(impl_->options.data_dir) + ".lock");
  impl_->load_catalog_locked();
  if (impl_->catalog.count(name)) throw Error(ErrorCode::kConflict, "collection " + name + " already exists");
  impl_->catalog[name] = {utc_now_iso8601(), liveness, new_generation()};
  std::shared_ptr<Collection> collection;
  try {
    collection = impl_->open_locked(name);
  } catch (...) {
    impl_->catalog.erase(name);
    throw;
  }
  try {
    impl_->audit_log.record({collection_entry("collection_create", name, actor)},
                            [this] { impl_->save_catalog_locked(); });
  } catch (...) {
    impl_->catalog.erase(name);
    throw;
  }
  return collection;
}

std::shared_ptr<Collection> CollectionSet::get(const std::string& name) {
  std::lock_guard lock(impl_->mutex);
  impl_->refresh_catalog_locked();
  if (!impl_->catalog.count(name)) throw Error(ErrorCode::kNotFound, "no collection " + name);
  return impl_->open_locked(name);
}

bool CollectionSet::contains(const std::string& name) {
  std::lock_guard lock(impl_->mutex);
  impl_->refresh_catalog_locked();
  return impl_->catalog.count(name) > 0;
}

void CollectionSet::remove(const std::string& name, const std::string& actor) {
  // Emptied through the store interface first, so every backend loses the data (a SQLite file
  // of our own is then deleted too). That takes a while for a large collection, so it runs
  // without the catalog's locks: other collections, keys and replicas are not held up.
  const auto collection = get(name);
  AuditEntry entry = collection_entry("collection_delete", name, actor);
  entry.face_count = static_cast<int>(collection->gallery().face_count());
  collection->gallery().clear(actor);
  std::lock_guard lock(impl_->mutex);
  const CatalogLock file_lock(catalog_path(impl_->options.data_dir) + ".lock");
  impl_->load_catalog_locked();
  if (!impl_->catalog.count(name)) throw Error(ErrorCode::kNotFound, "no collection " + name);
  impl_->audit_log.record({entry}, [&] {
    impl_->open_collections.erase(name);
    impl_->catalog.erase(name);
    impl_->save_catalog_locked();
  });
  const std::string file = sqlite_file_of(store_uri(name));
  if (!file.empty()) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(file + suffix, ec);
  }
}

CollectionInfo CollectionSet::info(const std::string& name) {
  CollectionInfo info;
  info.name = name;
  std::shared_ptr<Collection> collection;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->refresh_catalog_locked();
    const auto it = impl_->catalog.find(name);
    if (it == impl_->catalog.end()) throw Error(ErrorCode::kNotFound, "no collection " + name);
    info.created_at = it->second.created_at;
    info.liveness = it->second.liveness;
    collection = impl_->open_locked(name);
  }
  info.people = collection->gallery().person_count();
  info.faces = collection->gallery().face_count();
  return info;
}

std::vector<CollectionInfo> CollectionSet::list() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->refresh_catalog_locked();
    for (const auto& entry : impl_->catalog) names.push_back(entry.first);
  }
  std::vector<CollectionInfo> infos;
  for (const auto& name : names) {
    try {
      infos.push_back(info(name));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kNotFound) throw;  // else removed meanwhile
    }
  }
  return infos;
}

std::map<std::string, std::string> CollectionSet::unready_stores() {
  std::vector<std::shared_ptr<Collection>> open;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& entry : impl_->open_collections) open.push_back(entry.second.collection);
  }
  std::map<std::string, std::string> unready;
  for (const auto& collection : open) {
    try {
      collection->gallery().check_store();
    } catch (const std::exception& e) {
      unready[collection->name()] = e.what();
    }
  }
  return unready;
}

std::vector<AuditEntry> CollectionSet::audit(const AuditQuery& query) {
  auto entries = impl_->audit_log.read(query);
  std::vector<std::string> names;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& [name, entry] : impl_->catalog) names.push_back(name);
  }
  for (const auto& name : names) {
    std::vector<AuditEntry> of_collection;
    try {
      of_collection = get(name)->audit(query);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kNotFound) throw;
      continue;  // removed since the names were read (here or by another replica)
    }
    entries.insert(entries.end(), of_collection.begin(), of_collection.end());
  }
  // Each log is newest first already; ISO-8601 UTC times sort as text.
  std::stable_sort(entries.begin(), entries.end(), [](const AuditEntry& a, const AuditEntry& b) { return a.at > b.at; });
  if (entries.size() > static_cast<std::size_t>(query.limit)) entries.resize(static_cast<std::size_t>(query.limit));
  return entries;
}

}  // namespace faceid
