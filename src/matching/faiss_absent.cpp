// The approximate indexes in a build without FAISS (FACEID_WITH_FAISS=OFF).
#include "faceid/error.hpp"
#include "matching/approximate_index.hpp"

namespace faceid {
namespace {

[[noreturn]] void no_faiss(const char* kind) {
  throw Error(ErrorCode::kUnavailable, std::string("this FaceID was built without FAISS (FACEID_WITH_FAISS=OFF): the ") +
                                           kind + " index is unavailable; use --index exact or int8-scan");
}

}  // namespace

std::unique_ptr<VectorIndex> create_hnsw_index(int, const IndexOptions&) { no_faiss("hnsw"); }
std::unique_ptr<VectorIndex> create_ivf_sq8_index(int, const IndexOptions&, std::size_t, const std::int64_t*,
                                                  const float*) {
  no_faiss("ivf-sq8");
}
std::unique_ptr<VectorIndex> load_hnsw_snapshot(const std::string&, const IndexOptions&) { no_faiss("hnsw"); }
bool save_hnsw_snapshot(const VectorIndex&, const std::string&) { return false; }

}  // namespace faceid
