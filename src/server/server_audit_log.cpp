// The server's own audit log: API key and collection changes, which live in files of the
// data folder rather than in a gallery store.
#include <filesystem>
#include <mutex>

#include "core/private_files.hpp"
#include "faceid/server.hpp"
#include "storage/sqlite_audit_log.hpp"

namespace faceid {

struct ServerAuditLog::Impl {
  explicit Impl(const std::string& path) : db(open_private(path), std::chrono::milliseconds(5000)) {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    SqliteTransaction transaction(db, SqliteTransaction::Kind::kWrite);
    SqliteStatement exists(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'");
    exists.step();
    if (exists.integer(0) == 0) db.exec(kSqliteAuditSchema);
    transaction.commit();
  }

  // The log names who changed access to biometric data: private like the data (0600 / 0700).
  static const std::string& open_private(const std::string& path) {
    const std::filesystem::path file(path);
    std::error_code ec;
    if (file.has_parent_path() && !std::filesystem::is_directory(file.parent_path(), ec))
      create_private_directories(file.parent_path().string());
    if (!std::filesystem::exists(file, ec)) create_private_file(path);
    return path;
  }

  std::mutex mutex;  // one connection, one caller at a time
  SqliteDb db;
};

ServerAuditLog::ServerAuditLog(const std::string& path) : impl_(std::make_unique<Impl>(path)) {}
ServerAuditLog::~ServerAuditLog() = default;

void ServerAuditLog::record(std::vector<AuditEntry> entries, const std::function<void()>& change) {
  std::lock_guard lock(impl_->mutex);
  SqliteTransaction transaction(impl_->db, SqliteTransaction::Kind::kWrite);
  for (auto& entry : entries) insert_audit_row(impl_->db, entry);
  change();
  transaction.commit();
}

std::vector<AuditEntry> ServerAuditLog::read(const AuditQuery& query) {
  std::lock_guard lock(impl_->mutex);
  return select_audit_rows(impl_->db, query);
}

std::string server_audit_log_path(const std::string& data_dir) { return data_dir + "/audit.db"; }

}  // namespace faceid
