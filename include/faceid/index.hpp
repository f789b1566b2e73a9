#pragma once
// In-memory search over unit embeddings, and person-level matching on top of it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "faceid/metric.hpp"
#include "faceid/types.hpp"

namespace faceid {

struct IndexHit {
  std::int64_t id = 0;
  float cosine = 0.f;  // inner product of the unit vectors
};

enum class IndexKind {
  kAuto,    // exact below IndexOptions::auto_hnsw_from vectors, HNSW from there on
  kExact,   // brute force: every query reads every vector; exact answers
  kHnsw,    // FAISS HNSW graph over float vectors: low latency, approximate, more memory
  kIvfSq8,  // FAISS inverted lists of 8-bit codes: a quarter of the memory, approximate
  kInt8Scan,  // scan of 8-bit codes, best candidates re-scored in float: a quarter of the bytes read per query
};

const char* index_kind_name(IndexKind kind);  // "auto", "exact", "hnsw", "ivf-sq8", "int8-scan"
std::optional<IndexKind> parse_index_kind(const std::string& name);

struct IndexOptions {
  // Exact by default: on the 2-core machine we measured, no approximate index beat the
  // exact scan at a recall worth having, and graphs are rebuilt at every start-up.
  IndexKind kind = IndexKind::kExact;
  std::size_t auto_hnsw_from = 200000;  // kAuto switches to HNSW once the index holds this many
  int hnsw_m = 32;                      // graph degree: recall and memory grow with it
  int hnsw_ef_construction = 80;        // build-time beam width: build time vs graph quality
  int hnsw_ef_search = 128;             // query-time beam width: latency vs recall
  // kIvfSq8 serves exactly until it holds this many vectors, the k-means training sample.
  std::size_t ivf_train_from = 20000;
  int ivf_nprobe = 16;                  // lists scanned per query: latency vs recall
  // HNSW cannot unlink nodes: deleted vectors stay as tombstones until they make
  // up this fraction of the graph, which is then rebuilt from the live vectors.
  double hnsw_compact_fraction = 0.25;
  // HNSW only: a file that keeps the graph between runs. A PersonIndex loading a
  // gallery reuses every face the file holds with the same vector, adds the others
  // and drops the rest, instead of rebuilding the graph (minutes for 100k faces;
  // loading takes a fraction of a second). The other kinds rebuild in seconds.
  std::string snapshot_file;
};

// Nearest-neighbour index over unit vectors, keyed by caller-chosen ids.
// Not internally synchronised: the gallery guards it.
class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  virtual void add(std::int64_t id, const float* unit) = 0;
  // n vectors at once (row-major n x dim): graph and list indexes build much faster in bulk.
  virtual void add_batch(std::size_t n, const std::int64_t* ids, const float* units);
  virtual bool remove(std::int64_t id) = 0;
  // The k hits with the highest cosine, best first.
  virtual std::vector<IndexHit> search(const float* unit_query, int k) const = 0;
  // Copies the stored vector of `id` into out[dim]; false when absent. Quantised
  // indexes return the decoded vector, not the one added.
  virtual bool reconstruct(std::int64_t id, float* out) const = 0;
  virtual std::size_t size() const = 0;
  virtual std::vector<std::int64_t> stored_ids() const = 0;  // in no particular order
  virtual int dim() const = 0;
  virtual IndexKind kind() const = 0;  // what serves queries now (never kAuto)
  // Deleted vectors the index still holds (HNSW graphs cannot unlink nodes); 0 where
  // deletion is immediate.
  virtual std::size_t tombstones() const { return 0; }
};

// Brute-force inner products over one contiguous row-major matrix.
std::unique_ptr<VectorIndex> create_exact_index(int dim);
// The index `options` ask for. Throws Error(kBadRequest) for invalid options.
std::unique_ptr<VectorIndex> create_index(int dim, const IndexOptions& options);

enum class MatchPolicy { kMax, kMeanTemplate, kTopKMean };

const char* match_policy_name(MatchPolicy policy);  // "max", "mean", "topk"
std::optional<MatchPolicy> parse_match_policy(const std::string& name);

struct MatchOptions {
  Metric metric = Metric::kCosine;
  MatchPolicy policy = MatchPolicy::kMax;
  int top_k = 3;  // faces averaged by kTopKMean
};

// All enrolled faces of all people, grouped by person, searchable by embedding.
class PersonIndex {
 public:
  explicit PersonIndex(int dim, const IndexOptions& options = {});
  ~PersonIndex();
  PersonIndex(PersonIndex&&) noexcept;
  PersonIndex& operator=(PersonIndex&&) noexcept;

  // Replaces the contents with a gallery's faces; with options.snapshot_file set, an
  // HNSW graph starts from that file (see IndexOptions::snapshot_file).
  void load(const std::vector<FaceRecord>& faces);
  // Writes options.snapshot_file when it is set and the faces changed since it was
  // read or written; a no-op otherwise. Written to a temporary file, then renamed.
  void save_snapshot();

  void add_face(std::int64_t face_id, const std::string& person, const Embedding& embedding);
  bool remove_face(std::int64_t face_id);
  void remove_person(const std::string& person);
  void rename_person(const std::string& from, const std::string& to);
  void clear();

  // People ranked best first under `options`, at most `limit` of them.
  std::vector<MatchCandidate> rank(const Embedding& query, const MatchOptions& options,
                                   int limit) const;

  std::size_t face_count() const;
  std::size_t person_count() const;
  std::size_t tombstones() const;  // see VectorIndex::tombstones
  int dim() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace faceid
