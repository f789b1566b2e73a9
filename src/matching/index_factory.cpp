// Index kinds by name, and the factory that picks and grows indexes.
#include <functional>

#include "faceid/error.hpp"
#include "faceid/index.hpp"
#include "matching/exact_index.hpp"
#include "matching/approximate_index.hpp"
#include "matching/int8_index.hpp"

namespace faceid {

void VectorIndex::add_batch(std::size_t n, const std::int64_t* ids, const float* units) {
  for (std::size_t i = 0; i < n; ++i) add(ids[i], units + i * dim());
}

const char* index_kind_name(IndexKind kind) {
  switch (kind) {
    case IndexKind::kAuto: return "auto";
    case IndexKind::kExact: return "exact";
    case IndexKind::kHnsw: return "hnsw";
    case IndexKind::kIvfSq8: return "ivf-sq8";
    case IndexKind::kInt8Scan: return "int8-scan";
  }
  return "unknown";
}

std::optional<IndexKind> parse_index_kind(const std::string& name) {
  for (IndexKind k : {IndexKind::kAuto, IndexKind::kExact, IndexKind::kHnsw, IndexKind::kIvfSq8, IndexKind::kInt8Scan})
    if (name == index_kind_name(k)) return k;
  return std::nullopt;
}

namespace {

// Serves from an exact index until it holds `from` vectors, then moves them into
// the index `build` makes and forwards to that one from then on. It does not move
// back when deletes shrink it: the next start-up chooses afresh.
class StagedIndex final : public VectorIndex {
 public:
  using Builder = std::function<std::unique_ptr<VectorIndex>(const ExactIndex&)>;
  StagedIndex(int dim, std::size_t from, Builder build) : exact_(dim), from_(from), build_(std::move(build)) {}

  void add(std::int64_t id, const float* unit) override {
    active().add(id, unit);
    promote_when_due();
  }
  void add_batch(std::size_t n, const std::int64_t* ids, const float* units) override {
    active().add_batch(n, ids, units);
    promote_when_due();
  }
  bool remove(std::int64_t id) override { return active().remove(id); }
  std::vector<IndexHit> search(const float* unit_query, int k) const override {
    return active().search(unit_query, k);
  }
  bool reconstruct(std::int64_t id, float* out) const override { return active().reconstruct(id, out); }
  std::size_t size() const override { return active().size(); }
  std::vector<std::int64_t> stored_ids() const override { return active().stored_ids(); }
  int dim() const override { return exact_.dim(); }
  IndexKind kind() const override { return active().kind(); }
  std::size_t tombstones() const override { return active().tombstones(); }

 private:
  VectorIndex& active() { return grown_ ? *grown_ : static_cast<VectorIndex&>(exact_); }
  const VectorIndex& active() const { return grown_ ? *grown_ : static_cast<const VectorIndex&>(exact_); }
  void promote_when_due() {
    if (grown_ || exact_.size() < from_) return;
    grown_ = build_(exact_);
    exact_ = ExactIndex(exact_.dim());  // frees the float copy
  }

  ExactIndex exact_;
  std::size_t from_;
  Builder build_;
  std::unique_ptr<VectorIndex> grown_;
};

void require_valid(const IndexOptions& o) {
  if (o.hnsw_m < 2 || o.hnsw_ef_construction < 1 || o.hnsw_ef_search < 1)
    throw Error(ErrorCode::kBadRequest, "HNSW needs M >= 2 and efConstruction, efSearch >= 1");
  if (o.ivf_nprobe < 1 || o.ivf_train_from < 1000)
    throw Error(ErrorCode::kBadRequest, "IVF needs nprobe >= 1 and at least 1000 training vectors");
  if (!(o.hnsw_compact_fraction > 0 && o.hnsw_compact_fraction <= 1))
    throw Error(ErrorCode::kBadRequest, "the HNSW compaction fraction must lie in (0, 1]");
}

}  // namespace

std::unique_ptr<VectorIndex> create_index(int dim, const IndexOptions& options) {
  if (dim <= 0) throw Error(ErrorCode::kBadRequest, "index dimension must be positive");
  require_valid(options);
  const auto hnsw_from = [dim, options](const ExactIndex& exact) {
    auto graph = create_hnsw_index(dim, options);
    graph->add_batch(exact.size(), exact.ids().data(), exact.rows());
    return graph;
  };
  switch (options.kind) {
    case IndexKind::kExact: return std::make_unique<ExactIndex>(dim);
    case IndexKind::kInt8Scan: return std::make_unique<Int8ScanIndex>(dim);
    case IndexKind::kHnsw: return create_hnsw_index(dim, options);
    case IndexKind::kAuto: return std::make_unique<StagedIndex>(dim, options.auto_hnsw_from, hnsw_from);
    case IndexKind::kIvfSq8:
      return std::make_unique<StagedIndex>(dim, options.ivf_train_from, [dim, options](const ExactIndex& exact) {
        return create_ivf_sq8_index(dim, options, exact.size(), exact.ids().data(), exact.rows());
      });
  }
  throw Error(ErrorCode::kBadRequest, "unknown index kind");
}

}  // namespace faceid
