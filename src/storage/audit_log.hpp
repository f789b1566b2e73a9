#pragma once
// The audit log's SQL and row layout, shared by the SQLite and PostgreSQL stores: both read
// "$N" placeholders (SQLite numbers named parameters in order of first use, so each
// statement here uses them in increasing order) and the same column types.
#include <cstdint>
#include <string>
#include <vector>

#include "core/utc_time.hpp"
#include "faceid/store.hpp"

namespace faceid {

// The columns after the id, as created by the first migration of each store that has the
// log. Frozen: migrations are never edited, a new column needs a new migration.
#define FACEID_AUDIT_COLUMNS                                                                    \
  "at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, collection TEXT NOT NULL, "   \
  "person TEXT NOT NULL, new_name TEXT NOT NULL, key_id TEXT NOT NULL, face_ids TEXT NOT NULL, " \
  "face_count INTEGER NOT NULL"

inline constexpr const char* kAuditAppendOnly = "the audit log is append-only";

// "INSERT INTO table([scope_column, ]at, ...) VALUES ($1, ...)": the scope value (a gallery id)
// comes first when there is a scope column, then the values for_each_audit_value() gives.
std::string audit_insert_sql(const std::string& table, const std::string& scope_column = {});
// "SELECT id, at, ... FROM table WHERE [scope_column = $1 AND] at >= $ ORDER BY id DESC LIMIT $":
// scope, then AuditQuery::since, then AuditQuery::limit.
std::string audit_select_sql(const std::string& table, const std::string& scope_column = {});

// Calls bind(value) for each inserted column of `entry` in order: std::string or std::int64_t.
template <typename Bind>
void for_each_audit_value(const AuditEntry& entry, Bind&& bind);

// One row of audit_select_sql(); Row has text(column) and integer(column).
template <typename Row>
AuditEntry read_audit_row(const Row& row);

std::string encode_face_ids(const std::vector<std::int64_t>& ids);  // "1,2,3"
std::vector<std::int64_t> decode_face_ids(const std::string& text);

// The row of a write about `person`'s faces (face_count = how many ids).
AuditEntry face_write_entry(const std::string& action, const std::string& person, std::vector<std::int64_t> face_ids);

template <typename Bind>
void for_each_audit_value(const AuditEntry& entry, Bind&& bind) {
  bind(entry.at.empty() ? utc_now_iso8601() : entry.at);
  bind(entry.actor);
  bind(entry.action);
  bind(entry.collection);
  bind(entry.person);
  bind(entry.new_name);
  bind(entry.key_id);
  bind(encode_face_ids(entry.face_ids));
  bind(static_cast<std::int64_t>(entry.face_count));
}

template <typename Row>
AuditEntry read_audit_row(const Row& row) {
  AuditEntry entry;
  entry.id = row.integer(0);
  entry.at = row.text(1);
  entry.actor = row.text(2);
  entry.action = row.text(3);
  entry.collection = row.text(4);
  entry.person = row.text(5);
  entry.new_name = row.text(6);
  entry.key_id = row.text(7);
  entry.face_ids = decode_face_ids(row.text(8));
  entry.face_count = static_cast<int>(row.integer(9));
  return entry;
}

}  // namespace faceid
