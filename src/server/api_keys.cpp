// API keys: random secrets, stored only as salted SHA-256 hashes.

#include <algorithm>
#include <filesystem>
#include <mutex>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/utc_time.hpp"
#include "faceid/error.hpp"
#include "faceid/models.hpp"
#include "faceid/server.hpp"
#include "server/files.hpp"

namespace faceid {

namespace {

constexpr const char* kSecretPrefix = "fid_";

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1)
    throw Error(ErrorCode::kIo, "the system random generator failed");
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (const unsigned char b : buffer) {
    hex += digits[b >> 4];
    hex += digits[b & 15];
  }
  return hex;
}

std::string salted_hash(const std::string& salt_hex, const std::string& secret) {
  const std::string material = salt_hex + ":" + secret;
  return sha256_hex(material.data(), material.size());
}

// "fid_<id>_<random>" -> "<id>"; "" when the secret is not of that form.
std::string key_id_of(const std::string& secret) {
  if (secret.rfind(kSecretPrefix, 0) != 0) return {};
  const std::size_t end = secret.find('_', 4);
  return end == std::string::npos ? std::string() : secret.substr(4, end - 4);
}

// The audit row of a change to key `info`.
AuditEntry key_entry(const char* action, const ApiKeyInfo& info, const std::string& actor) {
  AuditEntry entry;
  entry.action = action;
  entry.actor = actor;
  entry.key_id = info.id;
  entry.collection = info.collection;
  return entry;
}

std::string folder_of(const std::string& path) {
  const std::string folder = std::filesystem::path(path).parent_path().string();
  return folder.empty() ? "." : folder;
}

}  // namespace

struct ApiKeyStore::Impl {
  struct Entry {
    ApiKeyInfo info;
    std::string salt_hex;
    std::string hash_hex;
  };

  explicit Impl(std::string key_path)
      : path(std::move(key_path)), audit_log(server_audit_log_path(folder_of(path))) {}

  void reload_if_changed_locked();
  void save_locked();
  // Writes the key file with its audit rows; when either fails, the keys in memory are read back
  // from the file at the next call, so memory never holds a change the file does not.
  void save_audited_locked(const std::vector<AuditEntry>& changes);
  Created issue_locked(ApiKeyInfo info, const char* action, const std::string& actor);

  std::string path;
  ServerAuditLog audit_log;
  std::mutex mutex;
  std::vector<Entry> entries;
  std::int64_t loaded_mtime_ns = -1;
};

void ApiKeyStore::Impl::reload_if_changed_locked() {
  const std::int64_t mtime = server_detail::file_mtime_ns(path);
  if (mtime == loaded_mtime_ns) return;
  std::vector<Entry> loaded;
  const std::string text = server_detail::read_text_file(path);
  if (!text.empty()) {
    try {
      const auto root = nlohmann::json::parse(text);
      for (const auto& item : root.at("keys")) {
        Entry entry;
        entry.info.id = item.at("id").get<std::string>();
        entry.info.collection = item.value("collection", "");
        entry.info.created_at = item.value("created_at", "");
        entry.salt_hex = item.at("salt").get<std::string>();
        entry.hash_hex = item.at("sha256").get<std::string>();
        loaded.push_back(std::move(entry));
      }
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::kCorruptStore, path + " is damaged: " + e.what());
    }
  }
  entries = std::move(loaded);
  loaded_mtime_ns = mtime;
}

void ApiKeyStore::Impl::save_locked() {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& entry : entries)
    keys.push_back({{"id", entry.info.id},
                    {"collection", entry.info.collection},
                    {"created_at", entry.info.created_at},
                    {"salt", entry.salt_hex},
                    {"sha256", entry.hash_hex}});
  server_detail::write_file_atomically(path, nlohmann::json{{"keys", keys}}.dump(2) + "\n", true);
  loaded_mtime_ns = server_detail::file_mtime_ns(path);
}

void ApiKeyStore::Impl::save_audited_locked(const std::vector<AuditEntry>& changes) {
  try {
    audit_log.record(changes, [this] { save_locked(); });
  } catch (...) {
    loaded_mtime_ns = -1;  // reload from the file, which holds what was really saved
    throw;
  }
}

ApiKeyStore::Created ApiKeyStore::Impl::issue_locked(ApiKeyInfo info, const char* action, const std::string& actor) {
  Created created;
  created.secret = kSecretPrefix + info.id + "_" + random_hex(32);
  Entry entry;
  entry.info = info;
  entry.salt_hex = random_hex(16);
  entry.hash_hex = salted_hash(entry.salt_hex, created.secret);
  const auto same_id = [&](const Entry& e) { return e.info.id == info.id; };
  entries.erase(std::remove_if(entries.begin(), entries.end(), same_id), entries.end());
  entries.push_back(std::move(entry));
  save_audited_locked({key_entry(action, info, actor)});
  created.info = std::move(info);
  return created;
}

ApiKeyStore::ApiKeyStore(std::string path) : impl_(std::make_unique<Impl>(std::move(path))) {
  std::lock_guard lock(impl_->mutex);
  impl_->reload_if_changed_locked();
}

ApiKeyStore::~ApiKeyStore() = default;

ApiKeyStore::Created ApiKeyStore::create(const std::string& collection, const std::string& actor) {
  if (!collection.empty()) require_valid_name(collection, "collection");
  std::lock_guard lock(impl_->mutex);
  impl_->reload_if_changed_locked();
  ApiKeyInfo info;
  info.id = random_hex(6);
  info.collection = collection;
  info.created_at = utc_now_iso8601();
  return impl_->issue_locked(std::move(info), "key_create", actor);
}

ApiKeyStore::Created ApiKeyStore::rotate(const std::string& id, const std::string& actor) {
  std::lock_guard lock(impl_->mutex);
  impl_->reload_if_changed_locked();
  for (const auto& entry : impl_->entries)
    if (entry.info.id == id) {
      ApiKeyInfo info = entry.info;
      info.created_at = utc_now_iso8601();
      return impl_->issue_locked(std::move(info), "key_rotate", actor);
    }
  throw Error(ErrorCode::kNotFound, "no API key " + id);
}

void ApiKeyStore::revoke(const std::string& id, const std::string& actor) {
  std::lock_guard lock(impl_->mutex);
  impl_->reload_if_changed_locked();
  auto& entries = impl_->entries;
  const auto it = std::find_if(entries.begin(), entries.end(), [&](const Impl::Entry& e) { return e.info.id == id; });
  if (it == entries.end()) throw Error(ErrorCode::kNotFound, "no API key " + id);
  const AuditEntry revoked = key_entry("key_revoke", it->info, actor);
  entries.erase(it);
  impl_->save_audited_locked({revoked});
}

int ApiKeyStore::revoke_collection(const std::string& collection, const std::string& actor) {
  std::lock_guard lock(impl_->mutex);
  impl_->reload_if_changed_locked();
  const auto of_collection = [&](const Impl::Entry& e) { return !e.info.admin() && e.info.collection == collection; };
  auto& entries = impl_->entries;
  std::vector<AuditEntry> revoked;
  for (const auto& entry : entries)
    if (of_collection(entry)) revoked.push_back(key_entry("key_revoke", entry.info, actor));
  entries.erase(std::remove_if(entries.begin(), entries.end(), of_collection), entries.end());
  if (!revoked.empty()) impl_->save_audited_locked(revoked);
  return static_cast<int>(revoked.size());
}

std::vector<ApiKeyInfo> ApiKeyStore::list() {
  std::lock_guard lock(impl_->mutex);
  impl_->reload_if_changed_locked();
  std::vector<ApiKeyInfo> infos;
  for (const auto& entry : impl_->entries) infos.push_back(entry.info);
  return infos;
}

std::string api_key_json(const ApiKeyInfo& info, const std::string& secret) {
  nlohmann::json view = {{"id", info.id},
                         {"scope", info.admin() ? "admin" : "collection"},
                         {"collection", info.admin() ? nlohmann::json(nullptr) : nlohmann::json(info.collection)},
                         {"created_at", info.created_at}};
  if (!secret.empty()) view["key"] = secret;
  return view.dump();
}

bool ApiKeyStore::has_admin_key() {
  const auto infos = list();
  return std::any_of(infos.begin(), infos.end(), [](const ApiKeyInfo& info) { return info.admin(); });
}

std::optional<ApiKeyInfo> ApiKeyStore::authenticate(const std::string& secret) {
  const std::string id = key_id_of(secret);
  if (id.empty()) return std::nullopt;
  std::lock_guard lock(impl_->mutex);
  impl_->reload_if_changed_locked();
  for (const auto& entry : impl_->entries) {
    if (entry.info.id != id) continue;
    const std::string hash = salted_hash(entry.salt_hex, secret);
    if (hash.size() == entry.hash_hex.size() &&
        CRYPTO_memcmp(hash.data(), entry.hash_hex.data(), hash.size()) == 0)
      return entry.info;
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace faceid
