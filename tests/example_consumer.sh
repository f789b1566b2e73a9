#!/usr/bin/env bash
# A C++ program outside the tree (examples/cpp) finds the installed library with
# find_package(faceid), links faceid::faceid_core alone, and names a person across two photos.
# Usage: example_consumer.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir="$1" build_dir="$2"
samples="$("$build_dir/faceid" models dir)/samples"
if [ ! -f "$samples/sample1.jpg" ]; then
  echo "needs the installed sample photos (faceid models install)"
  exit 77
fi
work="$(mktemp -d -t faceid-example-XXXXXX)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir/examples/cpp" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" -j 2 >/dev/null
# The largest faces of sample1 and sample3 are one person (see tests): enrolled from the first,
# found in the second.
output="$("$work/build/who_is_this" "$samples/sample3.jpg" "person=$samples/sample1.jpg")"
echo "$output"
grep -q '^person score' <<<"$output"
