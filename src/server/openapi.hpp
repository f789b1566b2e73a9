#pragma once

namespace faceid::server_detail {

// Text of docs/openapi.json as it was at build time (served at /openapi.json).
const char* openapi_json();

}  // namespace faceid::server_detail
