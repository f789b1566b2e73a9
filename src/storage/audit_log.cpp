#include "storage/audit_log.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "faceid/error.hpp"

namespace faceid {

namespace {

constexpr const char* kInsertedColumns =
    "at, actor, action, collection, person, new_name, key_id, face_ids, face_count";
constexpr int kInsertedColumnCount = 9;

// "YYYY-MM-DD", optionally followed by "THH", ":MM", ":SS" and "Z", as far as given.
bool is_iso_prefix(const std::string& text) {
  const std::string pattern = "dddd-dd-ddTdd:dd:ddZ";
  if (text.size() > pattern.size() || (text.size() < 10)) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool digit = std::isdigit(static_cast<unsigned char>(text[i])) != 0;
    if (pattern[i] == 'd' ? !digit : text[i] != pattern[i]) return false;
  }
  return true;
}

}  // namespace

void validate_audit_query(const AuditQuery& query) {
  if (query.limit < 1 || query.limit > AuditQuery::kMaxLimit)
    throw Error(ErrorCode::kBadRequest,
                "limit must be between 1 and " + std::to_string(AuditQuery::kMaxLimit) + ", not " +
                    std::to_string(query.limit));
  if (!query.since.empty() && !is_iso_prefix(query.since))
    throw Error(ErrorCode::kBadRequest, "since must be an ISO-8601 UTC date or time (2026-01-31 or "
                                        "2026-01-31T12:00:00Z), not '" + query.since.substr(0, 40) + "'");
}

std::string local_audit_actor(const std::string& program) {
  passwd entry{};
  passwd* found = nullptr;
  char buffer[1024];
  if (getpwuid_r(geteuid(), &entry, buffer, sizeof buffer, &found) == 0 && found)
    return program + ":" + found->pw_name;
  return program + ":uid-" + std::to_string(geteuid());
}

std::string audit_insert_sql(const std::string& table, const std::string& scope_column) {
  const int first = scope_column.empty() ? 1 : 2;
  std::string sql = "INSERT INTO " + table + "(" + (scope_column.empty() ? "" : scope_column + ", ") +
                    kInsertedColumns + ") VALUES (" + (scope_column.empty() ? "" : "$1, ");
  for (int i = 0; i < kInsertedColumnCount; ++i) sql += (i ? ", $" : "$") + std::to_string(first + i);
  return sql + ")";
}

std::string audit_select_sql(const std::string& table, const std::string& scope_column) {
  const int since = scope_column.empty() ? 1 : 2;
  return std::string("SELECT id, ") + kInsertedColumns + " FROM " + table + " WHERE " +
         (scope_column.empty() ? "" : scope_column + " = $1 AND ") + "at >= $" + std::to_string(since) +
         " ORDER BY id DESC LIMIT $" + std::to_string(since + 1);
}

std::string encode_face_ids(const std::vector<std::int64_t>& ids) {
  std::string text;
  for (const std::int64_t id : ids) text += (text.empty() ? "" : ",") + std::to_string(id);
  return text;
}

std::vector<std::int64_t> decode_face_ids(const std::string& text) {
  std::vector<std::int64_t> ids;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    ids.push_back(std::stoll(text.substr(start, end - start)));
    start = end + 1;
  }
  return ids;
}

AuditEntry face_write_entry(const std::string& action, const std::string& person, std::vector<std::int64_t> face_ids) {
  AuditEntry entry;
  entry.action = action;
  entry.person = person;
  entry.face_count = static_cast<int>(face_ids.size());
  entry.face_ids = std::move(face_ids);
  return entry;
}

}  // namespace faceid
