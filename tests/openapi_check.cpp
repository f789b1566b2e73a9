#include "openapi_check.hpp"

#include <algorithm>
#include <regex>

namespace faceid::test {

using nlohmann::json;

namespace {

bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  return false;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

std::optional<std::string> OpenApiSpec::path_template(const std::string& path) const {
  for (const auto& [name, item] : spec_.at("paths").items()) {
    const std::regex pattern("^" + std::regex_replace(name, std::regex(R"(\{[^}]+\})"), "[^/]+") + "$");
    if (std::regex_match(path, pattern)) return name;
  }
  return std::nullopt;
}

std::vector<std::string> OpenApiSpec::operations() const {
  std::vector<std::string> all;
  for (const auto& [name, item] : spec_.at("paths").items())
    for (const auto& [method, op] : item.items()) all.push_back(lower(method) + " " + name);
  return all;
}

const json& OpenApiSpec::resolve(const json& schema) const {
  if (!schema.is_object() || !schema.contains("$ref")) return schema;
  const std::string ref = schema["$ref"];
  return resolve(spec_.at(json::json_pointer(ref.substr(1))));
}

std::vector<std::string> OpenApiSpec::violations(const std::string& method, const std::string& path, int status,
                                                 const json& body) const {
  const auto name = path_template(path);
  if (!name) return {"no path of the spec matches " + path};
  const json& item = spec_["paths"][*name];
  if (!item.contains(lower(method))) return {"the spec has no " + method + " " + *name};
  const json& responses = item[lower(method)]["responses"];
  const std::string code = std::to_string(status);
  if (!responses.contains(code)) return {method + " " + *name + " answered " + code + ", which the spec does not list"};
  const json& response = responses[code];
  if (!response.contains("content") || !response["content"].contains("application/json"))
    return {method + " " + *name + " " + code + ": the spec gives no JSON schema"};
  return check(body, response["content"]["application/json"]["schema"], method + " " + *name + " " + code);
}

std::vector<std::string> OpenApiSpec::check(const json& value, const json& schema, const std::string& where) const {
  std::vector<std::string> out;
  check_into(value, schema, where, out);
  return out;
}

void OpenApiSpec::check_into(const json& value, const json& raw, const std::string& where,
                             std::vector<std::string>& out) const {
  const json& schema = resolve(raw);
  if (value.is_null()) {
    if (!schema.value("nullable", false) && schema.contains("type")) out.push_back(where + ": null, not nullable");
    return;
  }
  for (const char* any : {"anyOf", "oneOf"}) {
    if (!schema.contains(any)) continue;
    const bool matched = std::any_of(schema[any].begin(), schema[any].end(),
                                     [&](const json& option) { return check(value, option, where).empty(); });
    if (!matched) out.push_back(where + ": matches none of " + any);
  }
  if (schema.contains("type") && !has_type(value, schema["type"])) {
    out.push_back(where + ": " + value.dump().substr(0, 80) + " is not of type " + schema["type"].get<std::string>());
    return;
  }
  if (schema.contains("enum") && std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end())
    out.push_back(where + ": " + value.dump() + " is not one of " + schema["enum"].dump());
  if (value.is_number() && schema.contains("minimum") && value.get<double>() < schema["minimum"].get<double>())
    out.push_back(where + ": " + value.dump() + " below the minimum");
  if (value.is_number() && schema.contains("maximum") && value.get<double>() > schema["maximum"].get<double>())
    out.push_back(where + ": " + value.dump() + " above the maximum");
  if (value.is_object()) check_object(value, schema, where, out);
  if (value.is_array()) check_array(value, schema, where, out);
}

void OpenApiSpec::check_object(const json& value, const json& schema, const std::string& where,
                               std::vector<std::string>& out) const {
  for (const auto& name : schema.value("required", json::array()))
    if (!value.contains(name.get<std::string>())) out.push_back(where + ": missing required " + name.get<std::string>());
  const json properties = schema.value("properties", json::object());
  for (const auto& [name, field] : value.items()) {
    if (properties.contains(name)) {
      check_into(field, properties[name], where + "." + name, out);
    } else if (schema.contains("additionalProperties")) {
      if (schema["additionalProperties"].is_object()) check_into(field, schema["additionalProperties"], where + "." + name, out);
    } else if (schema.contains("properties")) {
      out.push_back(where + ": field " + name + " is not in the spec");
    }
  }
}

void OpenApiSpec::check_array(const json& value, const json& schema, const std::string& where,
                              std::vector<std::string>& out) const {
  if (schema.contains("minItems") && value.size() < schema["minItems"].get<std::size_t>())
    out.push_back(where + ": fewer than " + schema["minItems"].dump() + " items");
  if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<std::size_t>())
    out.push_back(where + ": more than " + schema["maxItems"].dump() + " items");
  if (!schema.contains("items")) return;
  for (std::size_t i = 0; i < value.size(); ++i)
    check_into(value[i], schema["items"], where + "[" + std::to_string(i) + "]", out);
}

}  // namespace faceid::test
