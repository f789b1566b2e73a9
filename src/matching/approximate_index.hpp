#pragma once
// The approximate (FAISS) indexes as seen by the rest of the library. A build without FAISS
// (FACEID_WITH_FAISS=OFF) links faiss_absent.cpp, whose functions throw Error(kUnavailable).
#include <memory>
#include <string>

#include "faceid/index.hpp"

namespace faceid {

// An empty HNSW graph (see HnswIndex).
std::unique_ptr<VectorIndex> create_hnsw_index(int dim, const IndexOptions& options);
// IVF-SQ8 lists trained on and holding the n given vectors (see IvfSq8Index).
std::unique_ptr<VectorIndex> create_ivf_sq8_index(int dim, const IndexOptions& options, std::size_t n,
                                                  const std::int64_t* ids, const float* units);
// A graph written by save_hnsw_snapshot(). Error(kCorruptStore / kIo) for a bad file.
std::unique_ptr<VectorIndex> load_hnsw_snapshot(const std::string& path, const IndexOptions& options);
// Writes `index` to `path` when it is an HNSW graph; false (nothing written) otherwise.
bool save_hnsw_snapshot(const VectorIndex& index, const std::string& path);

}  // namespace faceid
