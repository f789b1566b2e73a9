#!/usr/bin/env bash
# Command 2 of the README: install, build with tests, install models, run the whole suite.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DEBIAN_PACKAGES+=(postgresql)  # a throw-away server for the PostgreSQL store cases
DEBIAN_PACKAGES+=(chromium chromium-driver)  # the web console's browser test (headless, WebDriver)
install_debian_packages
build_faceid ON
install_models

# The PostgreSQL cases run against a throw-away cluster, removed on exit.
PG_TEST_DIR="$(mktemp -d "${TMPDIR:-/tmp}/faceid-pg.XXXXXX")"
trap '"$FACEID_ROOT/scripts/postgres_test_cluster.sh" stop "$PG_TEST_DIR"' EXIT
FACEID_TEST_POSTGRES_URL="$("$FACEID_ROOT/scripts/postgres_test_cluster.sh" start "$PG_TEST_DIR")"
export FACEID_TEST_POSTGRES_URL

cd "$FACEID_BUILD_DIR"
ctest --output-on-failure -j "$JOBS" --timeout 900
# The Python bindings (tests/python), with Debian's python3, which the module is built for.
PYTHONPATH="$FACEID_BUILD_DIR/python" /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider "$FACEID_ROOT/tests/python"
# The web console in headless Chromium against a real server; screenshots in $FACEID_BUILD_DIR/browser-screenshots.
FACEID_BUILD_DIR="$FACEID_BUILD_DIR" /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider "$FACEID_ROOT/tests/browser"
