#!/usr/bin/env bash
# `pip wheel` reuses the C++ build instead of compiling the library again: a wheel built offline
# against BUILD_DIR installs into a fresh virtual environment, and the installed package names a
# person across two sample photos.
# Usage: python_wheel.sh SOURCE_DIR BUILD_DIR PYTHON
set -euo pipefail
source_dir="$1" build_dir="$(cd "$2" && pwd)" python="$3"
samples="$("$build_dir/faceid" models dir)/samples"
if [ ! -f "$samples/sample1.jpg" ]; then
  echo "needs the installed sample photos (faceid models install)"
  exit 77
fi
if ! "$python" -c "import venv, ensurepip, setuptools, wheel" 2>/dev/null; then
  echo "needs venv, ensurepip, setuptools and wheel for $python (Debian: python3-venv python3-setuptools python3-wheel)"
  exit 77
fi
work="$(mktemp -d -t faceid-wheel-XXXXXX)"
trap 'rm -rf "$work"' EXIT
# A copy of the package sources, so the build leaves nothing in the checkout.
cp -r "$source_dir/python" "$work/src"
rm -rf "$work/src/build" "$work/src"/*.egg-info
start=$(date +%s)
FACEID_BUILD_DIR="$build_dir" "$python" -m pip wheel -v --no-build-isolation --no-deps --no-index \
  -w "$work/dist" "$work/src" > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
echo "wheel built in $(( $(date +%s) - start )) s: $(cd "$work/dist" && ls)"
# The C++ build's progress reached pip's output instead of being swallowed.
grep -q "cmake --build $build_dir --target _faceid" "$work/pip.log" || { cat "$work/pip.log"; exit 1; }
"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-deps --no-index "$work/dist"/faceid-*.whl
cd "$work"
PYTHONPATH= "$work/venv/bin/python" - "$samples" "$work/venv" <<'PY'
import sys
import faceid

samples, venv = sys.argv[1], sys.argv[2]
assert faceid.__file__.startswith(venv), f"imported {faceid.__file__}, not the installed wheel"
engine = faceid.Engine(gallery=":memory:", min_face_size=20, score_norm="none")
assert [o.status for o in engine.enroll("alice", [f"{samples}/sample1.jpg"])] == ["enrolled"]
# alice is the largest face of sample3.jpg too (tests/sample_people.hpp).
largest = max(engine.identify(f"{samples}/sample3.jpg"), key=lambda f: f.box[2] * f.box[3])
print("installed wheel:", faceid.__file__, "->", largest)
assert largest.person == "alice", largest
PY
