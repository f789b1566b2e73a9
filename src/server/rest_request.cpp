#include "server/rest_request.hpp"

#include <arpa/inet.h>

#include <cmath>

#include "engine/embedding_codec.hpp"
#include "faceid/error.hpp"

namespace faceid::server_detail {

using nlohmann::json;

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadImage: return 400;
    case ErrorCode::kBadRequest: return 400;
    case ErrorCode::kNoFace: return 422;
    // An enrollment refused by liveness was answered as bad_image before these codes existed.
    case ErrorCode::kSpoof: return 400;
    case ErrorCode::kCannotJudge: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kModelMismatch: return 409;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kUnauthorized: return 401;
    case ErrorCode::kForbidden: return 403;
    case ErrorCode::kTooLarge: return 413;
    case ErrorCode::kOverloaded: return 503;
    case ErrorCode::kRequestTimeout: return 408;
    case ErrorCode::kCorruptStore:
    case ErrorCode::kModelInvalid:
    case ErrorCode::kIo:
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

void send_error(httplib::Response& res, ErrorCode code, const std::string& message, const json& details,
                int status) {
  json error = {{"code", error_code_name(code)}, {"message", message}};
  if (!details.is_null()) error["details"] = details;
  res.status = status ? status : http_status(code);
  res.set_content(json{{"error", error}}.dump(), "application/json");
}

namespace {

json json_body(const httplib::Request& req) {
  if (req.get_header_value("Content-Type").find("application/json") == std::string::npos) return json::object();
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) throw ApiError{ErrorCode::kBadRequest, "the body is not a JSON object"};
  return body;
}

std::vector<std::uint8_t> decode_base64_image(const json& value, const std::string& field) {
  if (!value.is_string()) throw ApiError{ErrorCode::kBadRequest, field + " must be a base64 string"};
  std::string text = value.get<std::string>();
  // Accept data URLs ("data:image/jpeg;base64,...") as browsers produce them.
  if (text.rfind("data:", 0) == 0) {
    const auto comma = text.find(',');
    text = comma == std::string::npos ? std::string() : text.substr(comma + 1);
  }
  try {
    auto bytes = base64_decode(text);
    if (bytes.empty()) throw ApiError{ErrorCode::kBadImage, field + " is empty"};
    return bytes;
  } catch (const Error&) {
    throw ApiError{ErrorCode::kBadRequest, field + " is not valid base64"};
  }
}

}  // namespace

Call::Call(const httplib::Request& http, std::string actor)
    : http_(http), actor_(std::move(actor)), body_(json_body(http)) {}

std::optional<std::string> Call::text(Names names) const {
  for (const char* name : names) {
    if (const auto it = body_.find(name); it != body_.end() && !it->is_null())
      return it->is_string() ? it->get<std::string>() : it->dump();
    if (http_.has_file(name)) return http_.get_file_value(name).content;
    if (http_.has_param(name)) return http_.get_param_value(name);
  }
  return std::nullopt;
}

std::string Call::required_text(Names names, const std::string& what) const {
  auto value = text(names);
  if (!value) throw ApiError{ErrorCode::kBadRequest, "missing " + what + " ('" + *names.begin() + "')"};
  return *value;
}

std::optional<double> Call::parsed_number(Names names, bool integral) const {
  const auto value_text = text(names);
  if (!value_text) return std::nullopt;
  const std::string name = *names.begin();
  try {
    std::size_t used = 0;
    const double value = std::stod(*value_text, &used);
    if (used != value_text->size() || !std::isfinite(value)) throw std::invalid_argument(name);
    if (integral && (value != std::floor(value) || std::fabs(value) > 1e9)) throw std::invalid_argument(name);
    return value;
  } catch (const std::exception&) {
    throw ApiError{ErrorCode::kBadRequest,
                   "parameter " + name + " must be " + (integral ? "an integer" : "a number") + ", got '" +
                       *value_text + "'"};
  }
}

std::optional<float> Call::number(Names names) const {
  const auto value = parsed_number(names, false);
  return value ? std::optional<float>(static_cast<float>(*value)) : std::nullopt;
}

std::optional<int> Call::integer(Names names) const {
  const auto value = parsed_number(names, true);
  return value ? std::optional<int>(static_cast<int>(*value)) : std::nullopt;
}

bool Call::flag(Names names) const {
  const auto value = text(names);
  if (!value) return false;
  if (*value == "true" || *value == "1") return true;
  if (*value == "false" || *value == "0") return false;
  throw ApiError{ErrorCode::kBadRequest, std::string("parameter ") + *names.begin() + " must be true or false"};
}

std::vector<EnrollImage> Call::images(const std::string& field) const {
  std::vector<EnrollImage> images;
  if (http_.is_multipart_form_data()) {
    const auto range = http_.files.equal_range(field);
    for (auto it = range.first; it != range.second; ++it)
      images.push_back({it->second.filename.empty() ? field : it->second.filename,
                        std::vector<std::uint8_t>(it->second.content.begin(), it->second.content.end())});
  } else if (const auto it = body_.find(field); it != body_.end()) {
    if (!it->is_array()) return {{field, decode_base64_image(*it, field)}};
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string label = field + "[" + std::to_string(i) + "]";
      images.push_back({label, decode_base64_image((*it)[i], label)});
    }
  } else if (field == "image" && http_.get_header_value("Content-Type").rfind("image/", 0) == 0 &&
             !http_.body.empty()) {
    images.push_back({"body", std::vector<std::uint8_t>(http_.body.begin(), http_.body.end())});
  }
  return images;
}

std::vector<std::uint8_t> Call::one_image(const std::string& field) const {
  auto images = this->images(field);
  if (images.empty())
    throw ApiError{ErrorCode::kBadRequest,
                   "missing image '" + field + "' (multipart file, base64 JSON field, or an image/* body)"};
  if (images.size() > 1) throw ApiError{ErrorCode::kBadRequest, "expected one image in '" + field + "'"};
  return std::move(images.front().bytes);
}

std::int64_t parse_face_id(const std::string& text) {
  try {
    std::size_t used = 0;
    const long long id = std::stoll(text, &used);
    if (used == text.size()) return id;
  } catch (const std::exception&) {
  }
  throw ApiError{ErrorCode::kBadRequest, "face id must be an integer, got '" + text + "'"};
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

std::string presented_key(const httplib::Request& req) {
  const std::string bearer = req.get_header_value("Authorization");
  if (bearer.rfind("Bearer ", 0) == 0) return bearer.substr(7);
  return req.get_header_value("X-API-Key");
}

}  // namespace faceid::server_detail
