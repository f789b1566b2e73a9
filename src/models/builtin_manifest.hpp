#pragma once

namespace faceid::detail {

// Text of models/manifest.json as it was at build time.
const char* builtin_manifest_json();

}  // namespace faceid::detail
