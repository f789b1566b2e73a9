#pragma once
// One REST request as its handler sees it: the parameters (JSON body, multipart fields or
// query string, under their name or a documented alias), the images, and the refusal type
// that the route wrapper turns into the error shape.
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceid/pipeline.hpp"
#include "faceid/error.hpp"
#include "server/http.hpp"

namespace faceid::server_detail {

// A refusal of the request, optionally with per-item details (a batch enrollment's outcomes);
// answered like a faceid::Error of the same code.
struct ApiError {
  ErrorCode code;
  std::string message;
  nlohmann::json details = nullptr;
};

// The one mapping of error codes to HTTP statuses.
int http_status(ErrorCode code);
// The error shape {"error": {"code", "message", "details"?}} with http_status(code), or with
// `status` where the HTTP layer decided it (414 for a long URI, say).
void send_error(httplib::Response& res, ErrorCode code, const std::string& message,
                const nlohmann::json& details = nullptr, int status = 0);

// A parameter's accepted names: the first is the documented one, the others aliases
// (CompreFace's names, and the names of the previous release).
using Names = std::initializer_list<const char*>;

class Call {
 public:
  // `actor`: who the request's writes are recorded as (AuditEntry::actor). ApiError when a
  // JSON body is not an object.
  Call(const httplib::Request& http, std::string actor);

  const httplib::Request& http() const { return http_; }
  const std::string& actor() const { return actor_; }
  const nlohmann::json& body() const { return body_; }
  std::string path(std::size_t group) const { return http_.matches[group].str(); }

  // The first of `names` given in the JSON body, a multipart text field, or the query string.
  std::optional<std::string> text(Names names) const;
  std::string required_text(Names names, const std::string& what) const;
  std::optional<float> number(Names names) const;
  std::optional<int> integer(Names names) const;
  bool flag(Names names) const;  // absent = false
  bool has(Names names) const { return text(names).has_value(); }

  // Images named by `field`: multipart files, base64 strings (one or an array) in a JSON body,
  // or, for "image", a raw image/* body.
  std::vector<EnrollImage> images(const std::string& field) const;
  std::vector<std::uint8_t> one_image(const std::string& field) const;  // ApiError unless exactly one

 private:
  std::optional<double> parsed_number(Names names, bool integral) const;

  const httplib::Request& http_;
  std::string actor_;
  nlohmann::json body_;
};

std::int64_t parse_face_id(const std::string& text);
bool is_loopback(const std::string& host);
std::string presented_key(const httplib::Request& req);

}  // namespace faceid::server_detail
