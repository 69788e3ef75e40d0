#!/usr/bin/env bash
# Fails when any C++ source differs from what the committed .clang-format produces.
set -euo pipefail
clang_format=$1
root=$2
cd "$root"
mapfile -t files < <(find src tests tools bench -name '*.cpp' -o -name '*.h' 2>/dev/null | sort)
bad=0
for f in "${files[@]}"; do
    if ! "$clang_format" --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: clang-format -i $f)"
        bad=$((bad + 1))
    fi
done
echo "$(( ${#files[@]} - bad )) passed, $bad failed"
[ "$bad" -eq 0 ]
