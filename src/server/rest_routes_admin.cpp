// Health, API keys and collections.
#include <nlohmann/json.hpp>

#include "faceid/json.hpp"
#include "faceid/metric.hpp"
#include "server/rest_impl.hpp"
#include "server/rest_views.hpp"

namespace faceid {

using nlohmann::json;
using server_detail::ApiError;
using server_detail::collection_json;

void RestServer::Impl::add_health_routes() {
  const auto live = [this](const Call&) {
    return Reply{{{"status", "ok"},
                  {"model", models.embedder_model_id()},
                  {"metric", metric_name(models.metric())},
                  {"threshold", models.threshold()}}};
  };
  route("GET", "/health", "health", Access::kPublic, Work::kNone, live);
  route("GET", "/health/live", "health_live", Access::kPublic, Work::kNone, live);
  // Ready = every open collection's store answers, so an orchestrator can route around a broken replica.
  route("GET", "/health/ready", "health_ready", Access::kPublic, Work::kNone, [this](const Call&) {
    json stores = json::object();
    for (const auto& [collection, problem] : collections.unready_stores()) stores[collection] = problem;
    if (stores.empty()) return Reply{{{"status", "ready"}}};
    return Reply{{{"status", "unavailable"}, {"unready_stores", stores}}, 503};
  });
}

void RestServer::Impl::add_key_routes() {
  route("GET", "/v1/keys", "keys", Access::kAdmin, Work::kNone, [this](const Call&) {
    json list = json::array();
    for (const auto& info : keys.list()) list.push_back(json::parse(api_key_json(info)));
    return Reply{{{"keys", list}}};
  });
  route("POST", "/v1/keys", "keys", Access::kAdmin, Work::kQueued, [this](const Call& call) {
    const auto collection = call.text({"collection"});
    if (call.flag({"admin"}) == collection.has_value())
      throw ApiError{ErrorCode::kBadRequest, "send either {\"collection\": NAME} or {\"admin\": true}"};
    if (collection && !collections.contains(*collection))
      throw ApiError{ErrorCode::kNotFound, "no collection " + *collection};
    const auto created = keys.create(collection.value_or(""), call.actor());
    return Reply{json::parse(api_key_json(created.info, created.secret)), 201};
  });
  route("POST", R"(/v1/keys/([^/]+)/rotate)", "key_rotate", Access::kAdmin, Work::kQueued, [this](const Call& call) {
    const auto rotated = keys.rotate(call.path(1), call.actor());
    return Reply{json::parse(api_key_json(rotated.info, rotated.secret))};
  });
  route("DELETE", R"(/v1/keys/([^/]+))", "key", Access::kAdmin, Work::kNone, [this](const Call& call) {
    keys.revoke(call.path(1), call.actor());
    return Reply{{{"revoked", call.path(1)}}};
  });
}

void RestServer::Impl::add_collection_routes() {
  const std::string one = R"(/v1/collections/([^/]+))";
  route("GET", "/v1/collections", "collections", Access::kAdmin, Work::kNone, [this](const Call&) {
    json list = json::array();
    for (const auto& info : collections.list()) list.push_back(collection_json(info));
    return Reply{{{"collections", list}}};
  });
  route("POST", "/v1/collections", "collections", Access::kAdmin, Work::kQueued, [this](const Call& call) {
    const std::string name = call.required_text({"name"}, "collection name");
    collections.create(name, call.flag({"liveness"}), call.actor());
    return Reply{collection_json(collections.info(name)), 201};
  });
  route("GET", one, "collection", Access::kCollection, Work::kNone,
        [this](const Call& call) { return Reply{collection_json(collections.info(call.path(1)))}; });
  route("DELETE", one, "collection", Access::kAdmin, Work::kNone, [this](const Call& call) {
    collections.remove(call.path(1), call.actor());
    const int revoked = keys.revoke_collection(call.path(1), call.actor());
    return Reply{{{"deleted", call.path(1)}, {"keys_revoked", revoked}}};
  });
}

void RestServer::Impl::add_audit_routes() {
  route("GET", "/v1/audit", "audit", Access::kAdmin, Work::kNone, [this](const Call& call) {
    AuditQuery query;
    query.since = call.text({"since"}).value_or("");
    query.limit = call.integer({"limit"}).value_or(query.limit);
    json list = json::array();
    for (const auto& entry : collections.audit(query)) list.push_back(audit_entry_json(entry));
    return Reply{{{"audit", list}}};
  });
}

}  // namespace faceid
