#pragma once
// Wall-clock time as every record of FaceID writes it (audit log, keys, collections).
#include <string>

namespace faceid {

// The current UTC time, ISO-8601 to the second: "2026-12-03T12:00:00Z".
std::string utc_now_iso8601();

}  // namespace faceid
