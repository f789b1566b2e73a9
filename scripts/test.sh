#!/usr/bin/env bash
# Command 2 of the README: install, build with tests, install models, run the whole suite.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

install_debian_packages
build_faceid ON
install_models

cd "$FACEID_BUILD_DIR"
ctest --output-on-failure -j "$JOBS" --timeout 900
