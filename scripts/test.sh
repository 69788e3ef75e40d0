#!/usr/bin/env bash
# The one command that tests the project on a fresh Debian 12 machine: installs what is
# missing, then configures, builds and runs the whole suite twice, once in the CI
# configuration (warnings as errors) and once under AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --workflow --preset ci
cmake --workflow --preset asan
