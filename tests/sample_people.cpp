#include "sample_people.hpp"

#include <algorithm>

#include "test_support.hpp"

namespace faceid::test {

std::string sample_photo(int i) { return model_dir() + "/samples/sample" + std::to_string(i) + ".jpg"; }

std::size_t largest_face(const std::vector<Detection>& faces) {
  const auto it = std::max_element(faces.begin(), faces.end(), [](const Detection& a, const Detection& b) {
    return a.box.area() < b.box.area();
  });
  return static_cast<std::size_t>(it - faces.begin());
}

std::size_t leftmost_face(const std::vector<Detection>& faces) {
  const auto it = std::min_element(faces.begin(), faces.end(),
                                   [](const Detection& a, const Detection& b) { return a.box.x < b.box.x; });
  return static_cast<std::size_t>(it - faces.begin());
}

}  // namespace faceid::test
