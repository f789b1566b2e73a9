#pragma once
// Committing a batch of enrolled faces when another writer (a second process, a replica)
// may enroll the same images at the same time.
#include <cstdint>
#include <string>
#include <vector>

#include "faceid/gallery.hpp"
#include "faceid/store.hpp"

namespace faceid {

// store.add_faces(person, faces), except that a face whose image another writer committed
// after the caller's own duplicate check is left out and reported as already enrolled
// instead of failing the batch. outcomes[outcome_of_face[i]] gets face i's id or its
// duplicate status; returns the new ids in order, 0 for a face left out. Other errors propagate.
std::vector<std::int64_t> add_new_faces(GalleryStore& store, const std::string& person,
                                        const std::vector<FaceRecord>& faces, std::vector<EnrollOutcome>& outcomes,
                                        const std::vector<std::size_t>& outcome_of_face);

}  // namespace faceid
