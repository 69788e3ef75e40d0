#!/usr/bin/env bash
# The one command that tests the project on a fresh Debian 12 machine: installs what is
# missing, then configures, builds and runs the suite in the CI configuration (warnings as
# errors) and under AddressSanitizer + UBSan, cross-builds the Windows platform layer and
# runs its tests under Wine, and fuzzes briefly. End-to-end tests
# parametrised by transport run once each: the WebSocket ones under the sanitizers, the
# HTTP ones in the ci build; everything else runs in both (the fault suite under ASan only).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --workflow --preset ci
cmake --workflow --preset asan
# The Windows platform layer: mingw-w64, its tests under Wine (tests/windows/README.md).
cmake --workflow --preset windows
# The fuzz targets: built with Clang, run over their committed seed corpora, then each
# fuzzed for five seconds (a finding fails the run and keeps its reproducer).
cmake --workflow --preset fuzz
FUZZ_BUILD_JOBS=2 scripts/fuzz.sh 5
