#!/usr/bin/env bash
# Compiles every Windows platform source with mingw-w64 (syntax and types only), so code
# that CI cannot run here still cannot rot. The full cross-build and Wine tests are
# separate work.
set -euo pipefail
compiler=$1
source_dir=$2
failures=0
count=0
for file in "$source_dir"/src/platform/windows/*.cpp; do
    count=$((count + 1))
    if "$compiler" -std=c++20 -fsyntax-only -Wall -Wextra -Wconversion -Wsign-conversion \
        -Werror -I"$source_dir/src" "$file"; then
        echo "ok: $file"
    else
        echo "FAIL: $file"
        failures=$((failures + 1))
    fi
done
echo "$((count - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
