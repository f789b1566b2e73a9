#pragma once
// The browser pages of the REST server: the console (GET /, /console/...) and Swagger UI
// over the OpenAPI document (GET /docs, /docs/...).
#include "faceid/pipeline.hpp"
#include "server/http.hpp"

namespace faceid::server_detail {

// Registers the pages on `http`. They load without a key: the console sends the key its user
// types with every API call. Swagger UI's files are looked up in the model folders of `config`
// (where `faceid models install` puts them), SHA-256 checked against the manifest.
void add_console_routes(httplib::Server& http, const EngineConfig& config);

}  // namespace faceid::server_detail
