#include "matching/faiss_index.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <omp.h>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_io.h>

#include "faceid/error.hpp"
#include "matching/approximate_index.hpp"
#include "matching/exact_index.hpp"

namespace faceid {
namespace {

using Label = faiss::Index::idx_t;
constexpr std::int64_t kTombstone = -1;

// Debian's FAISS is built for baseline x86-64 and computes a 512-d inner product
// without SIMD (~500 ns); HNSW spends nearly all its build and search time there.
// This storage hands the graph the exact index's AVX2 kernel instead (~10x faster).
struct SimdInnerProduct final : faiss::FlatCodesDistanceComputer {
  explicit SimdInnerProduct(const faiss::IndexFlat& flat)
      : faiss::FlatCodesDistanceComputer(flat.codes.data(), flat.code_size), rows(flat.get_xb()), dim(flat.d) {}
  void set_query(const float* x) override { query = x; }
  float distance_to_code(const std::uint8_t* code) override {
    return dot_product(query, reinterpret_cast<const float*>(code), dim);
  }
  float symmetric_dis(Label i, Label j) override { return dot_product(rows + i * dim, rows + j * dim, dim); }

  const float* rows;
  int dim;
  const float* query = nullptr;
};

struct SimdFlatStorage final : faiss::IndexFlat {
  explicit SimdFlatStorage(int dim) : faiss::IndexFlat(dim, faiss::METRIC_INNER_PRODUCT) {}
  faiss::FlatCodesDistanceComputer* get_FlatCodesDistanceComputer() const override {
    return new SimdInnerProduct(*this);
  }
};

// One query has nothing to share out, but FAISS opens a thread team per search call
// anyway: on a busy machine waking the second thread costs milliseconds.
class SingleThreaded {
 public:
  SingleThreaded() : before_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleThreaded() { omp_set_num_threads(before_); }
  SingleThreaded(const SingleThreaded&) = delete;
  SingleThreaded& operator=(const SingleThreaded&) = delete;

 private:
  int before_;
};

// Ids must be new to the index and distinct within the batch; checked before any
// change. Negative ids are taken: FAISS and the tombstones use -1 for "none".
template <typename Contains>
void require_new_ids(std::size_t n, const std::int64_t* ids, Contains&& contains) {
  std::unordered_set<std::int64_t> batch;
  for (std::size_t i = 0; i < n; ++i) {
    if (ids[i] < 0) throw Error(ErrorCode::kBadRequest, "index ids must not be negative");
    if (contains(ids[i]) || !batch.insert(ids[i]).second)
      throw Error(ErrorCode::kConflict, "index already holds id " + std::to_string(ids[i]));
  }
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_file(const std::string& path, const char* mode) {
  File f(std::fopen(path.c_str(), mode));
  if (!f) throw Error(ErrorCode::kIo, "cannot open index file " + path);
  return f;
}

// A graph holds every face's embedding: its file is created private (0600), whatever the umask.
File create_private_file_for_writing(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  File f(fd >= 0 && ::fchmod(fd, 0600) == 0 ? ::fdopen(fd, "wb") : nullptr);
  if (!f) {
    if (fd >= 0) ::close(fd);
    throw Error(ErrorCode::kIo, "cannot create index file " + path);
  }
  return f;
}

}  // namespace

// ---- HNSW ----

HnswIndex::HnswIndex(int dim, const IndexOptions& options)
    : dim_(dim),
      options_(options),
      graph_(std::make_unique<faiss::IndexHNSWFlat>(dim, options.hnsw_m, faiss::METRIC_INNER_PRODUCT)) {
  // An IndexHNSWFlat (not a bare IndexHNSW) so that FAISS can write it to a file.
  auto storage = std::make_unique<SimdFlatStorage>(dim);
  delete graph_->storage;
  graph_->storage = storage.release();
  graph_->hnsw.efConstruction = options.hnsw_ef_construction;
  set_ef_search(options.hnsw_ef_search);
}

void HnswIndex::set_ef_search(int ef) {
  options_.hnsw_ef_search = ef;
  graph_->hnsw.efSearch = ef;
}

HnswIndex::~HnswIndex() = default;

void HnswIndex::add(std::int64_t id, const float* unit) { add_batch(1, &id, unit); }

void HnswIndex::add_batch(std::size_t n, const std::int64_t* ids, const float* units) {
  require_new_ids(n, ids, [this](std::int64_t id) { return slot_of_id_.count(id) > 0; });
  graph_->add(static_cast<Label>(n), units);  // FAISS numbers them on from ntotal
  for (std::size_t i = 0; i < n; ++i) {
    slot_of_id_[ids[i]] = static_cast<std::int64_t>(id_of_slot_.size());
    id_of_slot_.push_back(ids[i]);
  }
}

bool HnswIndex::remove(std::int64_t id) {
  const auto it = slot_of_id_.find(id);
  if (it == slot_of_id_.end()) return false;
  id_of_slot_[it->second] = kTombstone;
  // A removed face's vector is erased now, not at the next compaction: a tombstone holds
  // zeros in memory and in every snapshot file written later (no embedding outlives its face).
  auto& flat = static_cast<faiss::IndexFlatCodes&>(*graph_->storage);
  std::fill_n(flat.codes.data() + static_cast<std::size_t>(it->second) * flat.code_size, flat.code_size, 0);
  slot_of_id_.erase(it);
  if (tombstones() >= options_.hnsw_compact_fraction * id_of_slot_.size()) compact();
  return true;
}

void HnswIndex::compact() {
  std::vector<std::int64_t> ids;
  std::vector<float> rows(size() * dim_);
  ids.reserve(size());
  for (std::size_t slot = 0; slot < id_of_slot_.size(); ++slot) {
    if (id_of_slot_[slot] == kTombstone) continue;
    graph_->storage->reconstruct(static_cast<Label>(slot), &rows[ids.size() * dim_]);
    ids.push_back(id_of_slot_[slot]);
  }
  HnswIndex fresh(dim_, options_);
  fresh.add_batch(ids.size(), ids.data(), rows.data());
  graph_ = std::move(fresh.graph_);
  id_of_slot_ = std::move(fresh.id_of_slot_);
  slot_of_id_ = std::move(fresh.slot_of_id_);
}

std::vector<IndexHit> HnswIndex::search(const float* unit_query, int k) const {
  const std::size_t want = std::min<std::size_t>(size(), std::max(0, k)), slots = id_of_slot_.size();
  if (want == 0) return {};
  const SingleThreaded one_thread;
  // Tombstones are dropped from the results (FAISS 1.7.3's HNSW ignores search-time
  // parameters, so an IDSelector cannot be relied on): fetch in proportion to them,
  // and again twice as many in the rare case a region of tombstones leaves too few.
  for (std::size_t fetch = std::min(slots, (want * slots + size() - 1) / size());; fetch = std::min(slots, 2 * fetch)) {
    std::vector<float> scores(fetch);
    std::vector<Label> labels(fetch);
    graph_->search(1, unit_query, static_cast<Label>(fetch), scores.data(), labels.data());
    std::vector<IndexHit> hits;
    for (std::size_t i = 0; i < fetch; ++i)
      if (labels[i] >= 0 && id_of_slot_[labels[i]] != kTombstone) hits.push_back({id_of_slot_[labels[i]], scores[i]});
    if (hits.size() >= want || fetch == slots) {
      std::sort(hits.begin(), hits.end(), hit_before);  // FAISS leaves ties in any order
      hits.resize(std::min(hits.size(), want));
      return hits;
    }
  }
}

std::vector<std::int64_t> HnswIndex::stored_ids() const {
  std::vector<std::int64_t> ids;
  ids.reserve(slot_of_id_.size());
  for (const auto& [id, slot] : slot_of_id_) ids.push_back(id);
  return ids;
}

bool HnswIndex::reconstruct(std::int64_t id, float* out) const {
  const auto it = slot_of_id_.find(id);
  if (it == slot_of_id_.end()) return false;
  graph_->storage->reconstruct(it->second, out);
  return true;
}

void HnswIndex::save(const std::string& path) const {
  File f = create_private_file_for_writing(path);
  const std::uint64_t slots = id_of_slot_.size();
  try {
    faiss::write_index(graph_.get(), f.get());
  } catch (const faiss::FaissException& e) {
    throw Error(ErrorCode::kIo, "cannot write index file " + path + ": " + e.what());
  }
  if (std::fwrite(&slots, sizeof slots, 1, f.get()) != 1 ||
      std::fwrite(id_of_slot_.data(), sizeof(std::int64_t), slots, f.get()) != slots ||
      std::fclose(f.release()) != 0)
    throw Error(ErrorCode::kIo, "cannot write index file " + path);
}

std::unique_ptr<HnswIndex> HnswIndex::load(const std::string& path, const IndexOptions& options) {
  File f = open_file(path, "rb");
  std::unique_ptr<faiss::Index> read;
  try {
    read.reset(faiss::read_index(f.get()));
  } catch (const faiss::FaissException& e) {
    throw Error(ErrorCode::kCorruptStore, "unreadable index file " + path + ": " + e.what());
  }
  auto* graph = dynamic_cast<faiss::IndexHNSWFlat*>(read.get());
  auto* flat = graph ? dynamic_cast<faiss::IndexFlat*>(graph->storage) : nullptr;
  std::uint64_t slots = 0;
  if (!flat || graph->metric_type != faiss::METRIC_INNER_PRODUCT ||
      std::fread(&slots, sizeof slots, 1, f.get()) != 1 || slots != static_cast<std::uint64_t>(graph->ntotal))
    throw Error(ErrorCode::kCorruptStore, path + " is not an HNSW index file of this program");
  auto index = std::make_unique<HnswIndex>(graph->d, options);
  index->id_of_slot_.resize(slots);
  if (std::fread(index->id_of_slot_.data(), sizeof(std::int64_t), slots, f.get()) != slots)
    throw Error(ErrorCode::kCorruptStore, path + " is truncated");
  for (std::size_t slot = 0; slot < slots; ++slot)
    if (index->id_of_slot_[slot] != kTombstone) index->slot_of_id_[index->id_of_slot_[slot]] = slot;
  // The file holds a plain flat storage: move its vectors into the SIMD one.
  auto storage = std::make_unique<SimdFlatStorage>(graph->d);
  storage->codes.swap(flat->codes);
  storage->ntotal = flat->ntotal;
  delete graph->storage;
  graph->storage = storage.release();
  graph->own_fields = true;
  read.release();
  index->graph_.reset(graph);
  graph->hnsw.efConstruction = options.hnsw_ef_construction;  // the file keeps the writer's settings
  index->set_ef_search(options.hnsw_ef_search);
  return index;
}

// ---- IVF-SQ8 ----

IvfSq8Index::IvfSq8Index(int dim, const IndexOptions& options, std::size_t n, const std::int64_t* ids,
                         const float* units)
    : dim_(dim), options_(options) {
  if (n < 1000) throw Error(ErrorCode::kBadRequest, "an IVF index needs at least 1000 vectors to train on");
  // sqrt(n) lists balances the centroid scan against the list scan per query.
  const auto lists = static_cast<std::size_t>(std::sqrt(static_cast<double>(n)));
  centroids_ = std::make_unique<faiss::IndexFlat>(dim, faiss::METRIC_INNER_PRODUCT);
  lists_ = std::make_unique<faiss::IndexIVFScalarQuantizer>(centroids_.get(), dim, lists,
                                                            faiss::ScalarQuantizer::QT_8bit,
                                                            faiss::METRIC_INNER_PRODUCT);
  lists_->cp.niter = 10;          // k-means converges far enough for list assignment
  lists_->cp.spherical = true;    // unit vectors: unit centroids
  // A strided sample of 64 points per list: galleries are stored person by person.
  const std::size_t sample = std::min(n, 64 * lists), stride = n / sample;
  std::vector<float> training(sample * dim);
  for (std::size_t i = 0; i < sample; ++i)
    std::copy_n(units + i * stride * dim, dim, &training[i * dim]);
  lists_->train(static_cast<Label>(sample), training.data());
  lists_->set_direct_map_type(faiss::DirectMap::Hashtable);  // O(1) remove and reconstruct by id
  set_nprobe(options.ivf_nprobe);
  add_batch(n, ids, units);
}

IvfSq8Index::~IvfSq8Index() = default;

void IvfSq8Index::set_nprobe(int nprobe) {
  options_.ivf_nprobe = nprobe;
  lists_->nprobe = static_cast<std::size_t>(nprobe);
}

void IvfSq8Index::add(std::int64_t id, const float* unit) { add_batch(1, &id, unit); }

void IvfSq8Index::add_batch(std::size_t n, const std::int64_t* ids, const float* units) {
  require_new_ids(n, ids, [this](std::int64_t id) { return ids_.count(id) > 0; });
  lists_->add_with_ids(static_cast<Label>(n), units, ids);
  ids_.insert(ids, ids + n);
}

bool IvfSq8Index::remove(std::int64_t id) {
  if (ids_.erase(id) == 0) return false;
  const Label label = id;
  lists_->remove_ids(faiss::IDSelectorArray(1, &label));
  return true;
}

std::vector<IndexHit> IvfSq8Index::search(const float* unit_query, int k) const {
  const auto keep = static_cast<Label>(std::min<std::size_t>(size(), std::max(0, k)));
  if (keep == 0) return {};
  const SingleThreaded one_thread;
  std::vector<float> scores(keep);
  std::vector<Label> labels(keep);
  lists_->search(1, unit_query, keep, scores.data(), labels.data());
  std::vector<IndexHit> hits;
  for (Label i = 0; i < keep; ++i)
    if (labels[i] >= 0) hits.push_back({labels[i], scores[i]});
  std::sort(hits.begin(), hits.end(), hit_before);  // FAISS leaves ties in any order
  return hits;
}

bool IvfSq8Index::reconstruct(std::int64_t id, float* out) const {
  if (!ids_.count(id)) return false;
  lists_->reconstruct(id, out);
  return true;
}

std::unique_ptr<VectorIndex> create_hnsw_index(int dim, const IndexOptions& options) {
  return std::make_unique<HnswIndex>(dim, options);
}

std::unique_ptr<VectorIndex> create_ivf_sq8_index(int dim, const IndexOptions& options, std::size_t n,
                                                  const std::int64_t* ids, const float* units) {
  return std::make_unique<IvfSq8Index>(dim, options, n, ids, units);
}

std::unique_ptr<VectorIndex> load_hnsw_snapshot(const std::string& path, const IndexOptions& options) {
  return HnswIndex::load(path, options);
}

bool save_hnsw_snapshot(const VectorIndex& index, const std::string& path) {
  const auto* graph = dynamic_cast<const HnswIndex*>(&index);
  if (!graph) return false;
  graph->save(path);
  return true;
}

}  // namespace faceid
