#include "storage/sqlite_audit_log.hpp"

#include <type_traits>

namespace faceid {

void insert_audit_row(SqliteDb& db, const AuditEntry& entry) {
  SqliteStatement insert(db, audit_insert_sql("audit_log"));
  int column = 0;
  for_each_audit_value(entry, [&](const auto& value) {
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) insert.bind_text(++column, value);
    else insert.bind_int(++column, value);
  });
  insert.run();
}

std::vector<AuditEntry> select_audit_rows(SqliteDb& db, const AuditQuery& query) {
  validate_audit_query(query);
  SqliteStatement select(db, audit_select_sql("audit_log"));
  select.bind_text(1, query.since).bind_int(2, query.limit);
  std::vector<AuditEntry> entries;
  while (select.step()) entries.push_back(read_audit_row(select));
  return entries;
}

}  // namespace faceid
