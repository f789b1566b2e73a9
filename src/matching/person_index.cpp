#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "faceid/error.hpp"
#include "faceid/index.hpp"
#include "matching/exact_index.hpp"
#include "matching/approximate_index.hpp"

namespace faceid {

const char* match_policy_name(MatchPolicy policy) {
  switch (policy) {
    case MatchPolicy::kMax: return "max";
    case MatchPolicy::kMeanTemplate: return "mean";
    case MatchPolicy::kTopKMean: return "topk";
  }
  return "unknown";
}

std::optional<MatchPolicy> parse_match_policy(const std::string& name) {
  for (MatchPolicy p : {MatchPolicy::kMax, MatchPolicy::kMeanTemplate, MatchPolicy::kTopKMean})
    if (name == match_policy_name(p)) return p;
  return std::nullopt;
}

namespace {

// Up to this many faces a query scores every face exactly; above it only the
// nearest kCandidateFaces faces are aggregated into person scores.
constexpr std::size_t kExhaustiveFaces = 20000;
constexpr std::size_t kCandidateFaces = 2000;
// Approximate indexes pay for every candidate (HNSW walks with efSearch >= k), so
// they aggregate fewer: enough for the best people's top-k-mean.
constexpr std::size_t kApproximateCandidateFaces = 100;

struct PersonEntry {
  std::string name;
  std::vector<std::int64_t> faces;
  std::vector<double> raw_sum;  // sum of the raw vectors: direction and length of the mean template
};

// The saved graph when the options name a readable one of this dimension, else null:
// a snapshot is a cache, so a missing, foreign or damaged file costs a rebuild, no more.
std::unique_ptr<VectorIndex> read_snapshot(int dim, const IndexOptions& options) {
  const std::string& path = options.snapshot_file;
  if (options.kind != IndexKind::kHnsw || path.empty() || !std::filesystem::exists(path)) return nullptr;
  try {
    auto graph = load_hnsw_snapshot(path, options);
    if (graph->dim() == dim) return graph;
    spdlog::warn("index snapshot {} holds {}-d vectors, not {}-d: rebuilding it", path, graph->dim(), dim);
  } catch (const Error& e) {
    spdlog::warn("index snapshot {} is unusable ({}): rebuilding it", path, e.what());
  }
  return nullptr;
}

void require_dim(const Embedding& embedding, int dim) {
  if (static_cast<int>(embedding.unit.size()) != dim)
    throw Error(ErrorCode::kModelMismatch, "embedding of length " + std::to_string(embedding.unit.size()) +
                                               " in an index of dimension " + std::to_string(dim));
}

}  // namespace

struct PersonIndex::State {
  State(int d, const IndexOptions& o) : dim(d), options(o), faces(create_index(d, o)), templates(d) {}

  int dim;
  IndexOptions options;
  std::unique_ptr<VectorIndex> faces;
  std::unordered_map<std::int64_t, std::int64_t> person_of_face;
  std::unordered_map<std::int64_t, float> norm_of_face;
  std::unordered_map<std::int64_t, PersonEntry> people;  // by internal person number
  std::unordered_map<std::string, std::int64_t> number_of_person;
  std::int64_t next_number = 1;
  // One mean template per person, kept current on every change (read by kMeanTemplate);
  // exact whatever the face index, as there are few people per face.
  ExactIndex templates;
  std::unordered_map<std::int64_t, float> template_norms;
  bool snapshot_current = false;  // options.snapshot_file holds exactly `faces`

  // Everything but the face index itself.
  void register_face(std::int64_t face_id, const std::string& person, const Embedding& embedding) {
    const std::int64_t number = number_for(person);
    people[number].faces.push_back(face_id);
    update_template(number, embedding.unit.data(), embedding.norm, +1.0);
    person_of_face[face_id] = number;
    norm_of_face[face_id] = embedding.norm;
  }

  std::int64_t number_for(const std::string& name) {
    if (const auto it = number_of_person.find(name); it != number_of_person.end()) return it->second;
    const std::int64_t number = next_number++;
    number_of_person[name] = number;
    people[number] = PersonEntry{name, {}, std::vector<double>(dim, 0.0)};
    return number;
  }

  // Adds (sign +1) or subtracts (sign -1) a face's raw vector from its person's
  // template and refreshes that one template: O(dim), no rebuild.
  void update_template(std::int64_t number, const float* unit, float norm, double sign) {
    PersonEntry& person = people[number];
    double length = 0;
    for (int i = 0; i < dim; ++i) {
      person.raw_sum[i] += sign * unit[i] * norm;
      length += person.raw_sum[i] * person.raw_sum[i];
    }
    length = std::sqrt(length);
    templates.remove(number);
    template_norms.erase(number);
    if (person.faces.empty() || length <= 0) return;
    std::vector<float> mean_unit(dim);
    for (int i = 0; i < dim; ++i) mean_unit[i] = static_cast<float>(person.raw_sum[i] / length);
    templates.add(number, mean_unit.data());
    template_norms[number] = static_cast<float>(length / person.faces.size());
  }
};

PersonIndex::PersonIndex(int dim, const IndexOptions& options) : state_(std::make_unique<State>(dim, options)) {}
PersonIndex::~PersonIndex() = default;
PersonIndex::PersonIndex(PersonIndex&&) noexcept = default;
PersonIndex& PersonIndex::operator=(PersonIndex&&) noexcept = default;

int PersonIndex::dim() const { return state_->dim; }
std::size_t PersonIndex::face_count() const { return state_->faces->size(); }
std::size_t PersonIndex::person_count() const { return state_->people.size(); }
std::size_t PersonIndex::tombstones() const { return state_->faces->tombstones(); }

void PersonIndex::add_face(std::int64_t face_id, const std::string& person, const Embedding& embedding) {
  State& s = *state_;
  require_dim(embedding, s.dim);
  s.faces->add(face_id, embedding.unit.data());
  s.register_face(face_id, person, embedding);
  s.snapshot_current = false;
}

void PersonIndex::load(const std::vector<FaceRecord>& faces) {
  clear();
  State& s = *state_;
  for (const auto& face : faces) require_dim(face.embedding, s.dim);
  std::unordered_set<std::int64_t> unclaimed;  // snapshot faces no gallery face has matched yet
  if (auto graph = read_snapshot(s.dim, s.options)) {
    for (std::int64_t id : graph->stored_ids()) unclaimed.insert(id);
    s.faces = std::move(graph);
    s.snapshot_current = true;
  }
  std::vector<std::int64_t> new_ids;
  std::vector<float> new_rows, held(s.dim);
  for (const auto& face : faces) {
    const float* unit = face.embedding.unit.data();
    if (unclaimed.erase(face.id)) {
      s.faces->reconstruct(face.id, held.data());
      if (dot_product(held.data(), unit, s.dim) >= 1.f - 1e-5f) {
        s.register_face(face.id, face.person, face.embedding);
        continue;
      }
      s.faces->remove(face.id);  // the same id now holds another vector (another gallery?)
    }
    new_ids.push_back(face.id);
    new_rows.insert(new_rows.end(), unit, unit + s.dim);
    s.register_face(face.id, face.person, face.embedding);
  }
  for (std::int64_t id : unclaimed) s.faces->remove(id);
  // One batch: a graph index builds in parallel from a batch, not from single adds.
  if (!new_ids.empty()) s.faces->add_batch(new_ids.size(), new_ids.data(), new_rows.data());
  if (!unclaimed.empty() || !new_ids.empty()) s.snapshot_current = false;
}

void PersonIndex::save_snapshot() {
  State& s = *state_;
  if (s.options.snapshot_file.empty() || s.snapshot_current) return;
  const std::string temporary = s.options.snapshot_file + ".tmp";
  if (!save_hnsw_snapshot(*s.faces, temporary)) return;
  std::error_code ec;
  std::filesystem::rename(temporary, s.options.snapshot_file, ec);
  if (ec) throw Error(ErrorCode::kIo, "cannot replace " + s.options.snapshot_file + ": " + ec.message());
  s.snapshot_current = true;
}

bool PersonIndex::remove_face(std::int64_t face_id) {
  State& s = *state_;
  const auto it = s.person_of_face.find(face_id);
  if (it == s.person_of_face.end()) return false;
  const std::int64_t number = it->second;
  PersonEntry& person = s.people[number];
  person.faces.erase(std::remove(person.faces.begin(), person.faces.end(), face_id), person.faces.end());
  // Quantised indexes give back the decoded vector: the template drifts by the
  // quantisation error until the next start-up rebuilds it.
  std::vector<float> unit(s.dim);
  s.faces->reconstruct(face_id, unit.data());
  s.update_template(number, unit.data(), s.norm_of_face[face_id], -1.0);
  s.faces->remove(face_id);
  s.snapshot_current = false;
  s.person_of_face.erase(it);
  s.norm_of_face.erase(face_id);
  if (person.faces.empty()) {
    s.number_of_person.erase(person.name);
    s.people.erase(number);
  }
  return true;
}

void PersonIndex::remove_person(const std::string& person) {
  const auto it = state_->number_of_person.find(person);
  if (it == state_->number_of_person.end()) return;
  const std::vector<std::int64_t> faces = state_->people[it->second].faces;
  for (std::int64_t face : faces) remove_face(face);
}

void PersonIndex::rename_person(const std::string& from, const std::string& to) {
  State& s = *state_;
  const auto it = s.number_of_person.find(from);
  if (it == s.number_of_person.end() || from == to) return;
  if (s.number_of_person.count(to))
    throw Error(ErrorCode::kConflict, "person '" + to + "' already exists");
  const std::int64_t number = it->second;
  s.number_of_person.erase(it);
  s.number_of_person[to] = number;
  s.people[number].name = to;
}

void PersonIndex::clear() { state_ = std::make_unique<State>(state_->dim, state_->options); }

std::vector<MatchCandidate> PersonIndex::rank(const Embedding& query, const MatchOptions& options,
                                              int limit) const {
  const State& s = *state_;
  if (static_cast<int>(query.unit.size()) != s.dim)
    throw Error(ErrorCode::kModelMismatch, "query embedding of length " + std::to_string(query.unit.size()) +
                                               " in an index of dimension " + std::to_string(s.dim));
  const Metric metric = options.metric;
  std::vector<MatchCandidate> ranked;
  if (options.policy == MatchPolicy::kMeanTemplate) {
    for (const IndexHit& hit : s.templates.search(query.unit.data(), static_cast<int>(s.templates.size()))) {
      ranked.push_back({s.people.at(hit.id).name,
                        score_from_cosine(metric, hit.cosine, query.norm, s.template_norms.at(hit.id))});
    }
  } else {
    const std::size_t n = s.faces->size();
    // Under kMax with a metric monotone in the cosine, a person's score is their nearest face,
    // so the nearest faces rank every person they contain exactly. Top-k means need all of a
    // person's faces, and raw euclidean also depends on each face's norm.
    const bool nearest_suffice = options.policy == MatchPolicy::kMax && metric != Metric::kEuclidean;
    const bool exhaustive = !nearest_suffice && n <= kExhaustiveFaces;
    // Scans cost the same for any k; graphs and lists grow with it.
    const bool scan = s.faces->kind() == IndexKind::kExact || s.faces->kind() == IndexKind::kInt8Scan;
    std::size_t wanted = !scan ? std::min(n, kApproximateCandidateFaces)
                         : exhaustive                          ? n
                                                               : std::min(n, kCandidateFaces);
    // Per person: the face scores found, best first (hits arrive best-first by cosine).
    std::unordered_map<std::int64_t, std::vector<float>> scores;
    for (;;) {
      scores.clear();
      for (const IndexHit& hit : s.faces->search(query.unit.data(), static_cast<int>(wanted))) {
        scores[s.person_of_face.at(hit.id)].push_back(
            score_from_cosine(metric, hit.cosine, query.norm, s.norm_of_face.at(hit.id)));
      }
      // Too few people among the candidates (a few people with very many faces): widen.
      // Approximate indexes are not widened: a graph walk with k near n costs more than a scan.
      const bool enough_people = limit >= 0 && scores.size() >= static_cast<std::size_t>(limit);
      if (enough_people || wanted >= n || !scan) break;
      wanted = std::min(n, wanted * 4);
    }
    const std::size_t k = static_cast<std::size_t>(std::max(1, options.top_k));
    for (auto& [number, list] : scores) {
      std::sort(list.begin(), list.end(), [metric](float a, float b) { return better(metric, a, b); });
      float score = list.front();
      if (options.policy == MatchPolicy::kTopKMean) {
        const std::size_t used = std::min(k, list.size());
        double sum = 0;
        for (std::size_t i = 0; i < used; ++i) sum += list[i];
        score = static_cast<float>(sum / used);
      }
      ranked.push_back({s.people.at(number).name, score});
    }
  }
  std::sort(ranked.begin(), ranked.end(), [metric](const MatchCandidate& a, const MatchCandidate& b) {
    return a.score != b.score ? better(metric, a.score, b.score) : a.person < b.person;
  });
  if (limit >= 0 && ranked.size() > static_cast<std::size_t>(limit)) ranked.resize(limit);
  return ranked;
}

}  // namespace faceid
