// The people of a collection and their faces. `/people` is the route; `/subjects`, the name
// of the previous release, is kept as an alias (docs/openapi.json).
#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include "server/rest_impl.hpp"
#include "server/rest_views.hpp"

namespace faceid {

using nlohmann::json;
using server_detail::ApiError;
using server_detail::parse_face_id;
using server_detail::with_person;

namespace {

const std::string kPeople = R"(/v1/collections/([^/]+)/(?:people|subjects))";
const std::string kPerson = kPeople + R"(/([^/]+))";
const std::string kFaces = kPerson + "/faces";

// The answer to an enrollment: 201 when a face was added, else the error of the first image.
Reply enrolled_reply(const std::string& person, const std::vector<EnrollOutcome>& outcomes) {
  json results = json::array();
  int enrolled = 0;
  for (const auto& o : outcomes) {
    results.push_back(server_detail::rest_enroll_outcome_json(o));
    enrolled += o.error ? 0 : 1;
  }
  if (enrolled > 0) return Reply{with_person(person, {{"added", enrolled}, {"results", results}}), 201};
  const EnrollOutcome& first = outcomes.front();
  // A duplicate's message names its owner; the others say what is wrong with the image.
  const std::string what = *first.error == ErrorCode::kConflict ? first.message : first.source + ": " + first.message;
  throw ApiError{*first.error, "nothing added: " + what, results};
}

// Face ids from {"ids": [1, 2]} or ?ids=1,2.
std::vector<std::int64_t> face_ids(const server_detail::Call& call) {
  std::vector<std::int64_t> ids;
  if (const auto it = call.body().find("ids"); it != call.body().end()) {
    for (const auto& id : *it) ids.push_back(id.get<std::int64_t>());
  } else if (call.http().has_param("ids")) {
    std::stringstream list(call.http().get_param_value("ids"));
    for (std::string item; std::getline(list, item, ',');) ids.push_back(parse_face_id(item));
  }
  if (ids.empty()) throw ApiError{ErrorCode::kBadRequest, "name the faces to delete: ?ids=1,2 or {\"ids\": [1, 2]}"};
  return ids;
}

}  // namespace

void RestServer::Impl::add_person_routes() {
  route("GET", kPeople, "people", Access::kCollection, Work::kNone, [this](const Call& call) {
    json list = json::array();
    for (const auto& p : collection(call)->gallery().people()) list.push_back(server_detail::person_json(p));
    return Reply{{{"people", list}, {"subjects", list}}};
  });
  route("POST", kPeople, "people", Access::kCollection, Work::kQueued, [this](const Call& call) {
    const std::string name = call.required_text({"name"}, "person name");
    // The store keeps people with faces only, so a person is created with their first images.
    require_valid_name(name, "person");
    if (collection(call)->gallery().has_person(name)) throw ApiError{ErrorCode::kConflict, "person " + name + " already exists"};
    return enroll(call, name);
  });
  route("GET", kPerson, "person", Access::kCollection, Work::kNone, [this](const Call& call) {
    return Reply{server_detail::person_json(collection(call)->gallery().person(call.path(2)))};
  });
  const JsonHandler rename = [this](const Call& call) {
    const std::string to = call.required_text({"name"}, "new person name");
    collection(call)->gallery().rename_person(call.path(2), to, call.actor());
    return Reply{{{"name", to}, {"renamed_from", call.path(2)}}};
  };
  route("PATCH", kPerson, "person", Access::kCollection, Work::kNone, rename);
  route("PUT", kPerson, "person", Access::kCollection, Work::kNone, rename);
  route("DELETE", kPerson, "person", Access::kCollection, Work::kNone, [this](const Call& call) {
    collection(call)->gallery().remove_person(call.path(2), call.actor());
    return Reply{{{"deleted", call.path(2)}}};
  });
}

Reply RestServer::Impl::enroll(const Call& call, const std::string& person) {
  const auto c = collection(call);
  auto images = call.images("images");
  for (auto& extra : call.images("image")) images.push_back(std::move(extra));
  if (images.empty())
    throw ApiError{ErrorCode::kBadRequest, "no images: send 'images' (or 'image') as multipart files or base64 JSON"};
  if (images.size() > static_cast<std::size_t>(options.max_images_per_request))
    throw ApiError{ErrorCode::kTooLarge,
                   "at most " + std::to_string(options.max_images_per_request) + " images per request"};
  return enrolled_reply(person, c->add_faces(person, images, options.image_limits, call.actor()));
}

void RestServer::Impl::add_face_routes() {
  route("GET", kFaces, "faces", Access::kCollection, Work::kNone, [this](const Call& call) {
    json list = json::array();
    for (const auto& f : collection(call)->gallery().faces_of(call.path(2), false)) list.push_back(server_detail::face_record_json(f));
    return Reply{with_person(call.path(2), {{"faces", list}})};
  });
  route("POST", kFaces, "faces", Access::kCollection, Work::kQueued,
        [this](const Call& call) { return enroll(call, call.path(2)); });
  route("DELETE", kFaces, "faces", Access::kCollection, Work::kNone, [this](const Call& call) {
    const auto ids = face_ids(call);
    const auto removed = collection(call)->gallery().remove_faces(call.path(2), ids, call.actor());
    json missing = json::array();
    for (const auto id : ids)
      if (std::find(removed.begin(), removed.end(), id) == removed.end()) missing.push_back(id);
    return Reply{{{"removed", removed}, {"not_found", missing}}};
  });
  route("DELETE", kFaces + R"(/(\d+))", "face", Access::kCollection, Work::kNone, [this](const Call& call) {
    const std::int64_t id = parse_face_id(call.path(3));
    if (collection(call)->gallery().remove_faces(call.path(2), {id}, call.actor()).empty())
      throw ApiError{ErrorCode::kNotFound, "no face " + std::to_string(id) + " of person " + call.path(2)};
    return Reply{{{"removed", {id}}}};
  });
  raw_route("GET", kFaces + R"(/(\d+)/crop)", "face_crop", Access::kCollection,
            [this](const Call& call, httplib::Response& res) {
              const auto jpeg = collection(call)->gallery().face_crop(call.path(2), parse_face_id(call.path(3)));
              res.set_content(std::string(jpeg.begin(), jpeg.end()), "image/jpeg");
            });
}

}  // namespace faceid
