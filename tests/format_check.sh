#!/usr/bin/env bash
# Fails when any C++ source differs from what the committed .clang-format produces.
# One clang-format process for all the files (one per file took most of a minute).
set -euo pipefail
clang_format=$1
root=$2
cd "$root"
mapfile -t files < <(find src tests tools bench -name '*.cpp' -o -name '*.h' 2>/dev/null | sort)
status=0
report=$("$clang_format" --dry-run -Werror "${files[@]}" 2>&1) || status=$?
mapfile -t bad < <(sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*clang-format-violations.*/\1/p' \
    <<<"$report" | sort -u)
for f in "${bad[@]}"; do
    echo "not formatted: $f (run: clang-format -i $f)"
done
if [ "$status" -ne 0 ] && [ ${#bad[@]} -eq 0 ]; then
    echo "$report"
    echo "clang-format failed (exit $status)"
    exit 1
fi
echo "$(( ${#files[@]} - ${#bad[@]} )) passed, ${#bad[@]} failed"
[ ${#bad[@]} -eq 0 ]
