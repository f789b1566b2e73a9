#pragma once
// A small OpenAPI 3.0 schema checker for tests: does a JSON answer match what
// docs/openapi.json says the route answers with that status? It checks what clients rely on:
// $ref, type (with nullable), required, properties, items, enum, anyOf / oneOf, minimum /
// maximum, minItems / maxItems, and, stricter than OpenAPI's default, that an object holds no
// property its schema does not declare (an undocumented field is a spec that lags the server).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faceid::test {

class OpenApiSpec {
 public:
  explicit OpenApiSpec(nlohmann::json spec) : spec_(std::move(spec)) {}

  // The path template ("/v1/collections/{collection}") a concrete path matches, if any.
  std::optional<std::string> path_template(const std::string& path) const;
  // Every "METHOD template" the spec documents.
  std::vector<std::string> operations() const;
  // What is wrong with `body` as the answer of `method path` with `status` ("" when right).
  std::vector<std::string> violations(const std::string& method, const std::string& path, int status,
                                      const nlohmann::json& body) const;
  // What is wrong with `value` under `schema` (located at `where` for the messages).
  std::vector<std::string> check(const nlohmann::json& value, const nlohmann::json& schema,
                                 const std::string& where) const;

 private:
  const nlohmann::json& resolve(const nlohmann::json& schema) const;
  void check_into(const nlohmann::json& value, const nlohmann::json& schema, const std::string& where,
                  std::vector<std::string>& out) const;
  void check_object(const nlohmann::json& value, const nlohmann::json& schema, const std::string& where,
                    std::vector<std::string>& out) const;
  void check_array(const nlohmann::json& value, const nlohmann::json& schema, const std::string& where,
                   std::vector<std::string>& out) const;

  nlohmann::json spec_;
};

}  // namespace faceid::test
