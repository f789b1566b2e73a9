#pragma once
// The audit log table in an SQLite database: a gallery's (migration 3 of sqlite_store.cpp)
// and the server's own log of key and collection changes (ServerAuditLog) are the same table
// with the same triggers, written and read by the same code.
#include <vector>

#include "faceid/store.hpp"
#include "storage/audit_log.hpp"
#include "storage/sqlite_db.hpp"

namespace faceid {

// The table and the triggers that make it append-only (UPDATE and DELETE RAISE). Frozen:
// a gallery migration runs it.
inline constexpr const char* kSqliteAuditSchema =
    "CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, " FACEID_AUDIT_COLUMNS ");"
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;";

// Both inside the caller's transaction (if any).
void insert_audit_row(SqliteDb& db, const AuditEntry& entry);
std::vector<AuditEntry> select_audit_rows(SqliteDb& db, const AuditQuery& query);

}  // namespace faceid
