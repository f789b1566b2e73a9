#pragma once
// Approximate indexes on FAISS. Only faiss_index.cpp includes FAISS headers.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "faceid/index.hpp"

namespace faiss {
struct IndexHNSWFlat;
struct IndexFlat;
struct IndexIVFScalarQuantizer;
}  // namespace faiss

namespace faceid {

// HNSW graph over the float vectors, by inner product. No training.
//
// Deletion: FAISS cannot unlink a node from an HNSW graph, so remove() leaves a
// tombstone (the slot's id is cleared). Tombstones keep routing queries through
// the graph but are dropped from the results, which are over-fetched by the
// tombstone share to make up for them. Memory, latency and a little recall go to
// the tombstones, so once they reach hnsw_compact_fraction of the slots the graph
// is rebuilt from the live vectors: an O(n log n) pause once per that many
// deletes, never per delete. An update is remove + add (a new slot).
class HnswIndex final : public VectorIndex {
 public:
  HnswIndex(int dim, const IndexOptions& options);
  ~HnswIndex() override;
  void add(std::int64_t id, const float* unit) override;
  void add_batch(std::size_t n, const std::int64_t* ids, const float* units) override;
  bool remove(std::int64_t id) override;
  std::vector<IndexHit> search(const float* unit_query, int k) const override;
  bool reconstruct(std::int64_t id, float* out) const override;
  std::size_t size() const override { return slot_of_id_.size(); }
  std::vector<std::int64_t> stored_ids() const override;
  int dim() const override { return dim_; }
  IndexKind kind() const override { return IndexKind::kHnsw; }

  void set_ef_search(int ef);
  std::size_t tombstones() const override { return id_of_slot_.size() - slot_of_id_.size(); }
  // The graph and the ids in one file: loading skips the graph construction.
  void save(const std::string& path) const;
  static std::unique_ptr<HnswIndex> load(const std::string& path, const IndexOptions& options);

 private:
  void compact();

  int dim_;
  IndexOptions options_;
  std::unique_ptr<faiss::IndexHNSWFlat> graph_;  // FAISS label = slot number
  std::vector<std::int64_t> id_of_slot_;         // caller id per slot, kTombstone once removed
  std::unordered_map<std::int64_t, std::int64_t> slot_of_id_;
};

// Inverted lists of 8-bit scalar-quantised vectors (a quarter of the float size),
// k-means trained once on the vectors it is built from. FAISS removes from
// inverted lists directly (a hash table maps ids to list positions), so deletes
// and updates are O(1) with no tombstones.
class IvfSq8Index final : public VectorIndex {
 public:
  // Trains on and then holds the n given vectors (n >= 1000).
  IvfSq8Index(int dim, const IndexOptions& options, std::size_t n, const std::int64_t* ids, const float* units);
  ~IvfSq8Index() override;
  void add(std::int64_t id, const float* unit) override;
  void add_batch(std::size_t n, const std::int64_t* ids, const float* units) override;
  bool remove(std::int64_t id) override;
  std::vector<IndexHit> search(const float* unit_query, int k) const override;
  bool reconstruct(std::int64_t id, float* out) const override;
  std::size_t size() const override { return ids_.size(); }
  std::vector<std::int64_t> stored_ids() const override { return {ids_.begin(), ids_.end()}; }
  int dim() const override { return dim_; }
  IndexKind kind() const override { return IndexKind::kIvfSq8; }

  void set_nprobe(int nprobe);

 private:
  int dim_;
  IndexOptions options_;
  std::unique_ptr<faiss::IndexFlat> centroids_;
  std::unique_ptr<faiss::IndexIVFScalarQuantizer> lists_;
  std::unordered_set<std::int64_t> ids_;
};

}  // namespace faceid
