#include "storage/add_new_faces.hpp"

#include "faceid/error.hpp"

namespace faceid {

std::vector<std::int64_t> add_new_faces(GalleryStore& store, const std::string& person,
                                        const std::vector<FaceRecord>& faces, std::vector<EnrollOutcome>& outcomes,
                                        const std::vector<std::size_t>& outcome_of_face) {
  std::vector<std::int64_t> committed(faces.size(), 0);
  std::vector<std::size_t> pending(faces.size());
  for (std::size_t i = 0; i < faces.size(); ++i) pending[i] = i;
  // Each retry drops at least one face, so this ends.
  while (!pending.empty()) {
    std::vector<FaceRecord> batch;
    batch.reserve(pending.size());
    for (const std::size_t i : pending) batch.push_back(faces[i]);
    try {
      const auto ids = store.add_faces(person, batch);
      for (std::size_t k = 0; k < pending.size(); ++k) {
        committed[pending[k]] = ids[k];
        outcomes[outcome_of_face[pending[k]]].face_id = ids[k];
      }
      return committed;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kConflict) throw;
      std::vector<std::size_t> still_new;
      for (const std::size_t i : pending) {
        if (const auto owner = store.find_content(faces[i].content_sha256)) {
          outcomes[outcome_of_face[i]].error = ErrorCode::kConflict;
          outcomes[outcome_of_face[i]].message = "already enrolled as " + *owner;
        } else {
          still_new.push_back(i);
        }
      }
      if (still_new.size() == pending.size()) throw;  // a conflict that is not a duplicate image
      pending = std::move(still_new);
    }
  }
  return committed;
}

}  // namespace faceid
