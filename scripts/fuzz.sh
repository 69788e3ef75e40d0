#!/usr/bin/env bash
# Builds the fuzz preset (Clang, libFuzzer, ASan + UBSan) and runs each fuzz target for a
# fixed time, one after the other:
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Each target starts from a working copy of its committed corpus (tests/fuzz/corpus/<target>,
# never modified) in build/fuzz/corpus/<target>, with its dictionary when it has one. A crash,
# leak, timeout or out-of-memory leaves its reproducer in build/fuzz/findings/<target>/ and
# the log in build/fuzz/logs/<target>.log. One summary line per target is printed, and the
# same is written to build/fuzz/summary.tsv (target, seconds, executions, corpus entries,
# crashes) for reports. Exits 1 when any target found something.
#
# FUZZ_BUILD_JOBS sets the build's parallelism (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: scripts/fuzz.sh [seconds-per-target] [target...]" >&2
    exit 2
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(server_to_agent_fuzz websocket_frame_fuzz config_loader_fuzz config_composer_fuzz
        tar_archive_fuzz)
fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "${FUZZ_BUILD_JOBS:-$(nproc)}" --target fuzzers

build=build/fuzz
mkdir -p "$build/corpus" "$build/findings" "$build/logs"
summary=$build/summary.tsv
printf 'target\tseconds\texecutions\tcorpus_entries\tcrashes\n' >"$summary"
printf '%-22s %8s %12s %9s %8s  %s\n' target seconds executions exec/s corpus result
failed=0
for target in "${targets[@]}"; do
    binary=$build/fuzz/$target
    if [ ! -x "$binary" ]; then
        echo "no fuzz target $target (built: $(ls "$build/fuzz" | tr '\n' ' '))" >&2
        exit 2
    fi
    corpus=$build/corpus/$target
    findings=$build/findings/$target
    log=$build/logs/$target.log
    rm -rf "$corpus" "$findings"
    mkdir -p "$findings"
    cp -r "tests/fuzz/corpus/$target" "$corpus"
    dict=()
    if [ -f "tests/fuzz/dict/$target.dict" ]; then
        dict=("-dict=tests/fuzz/dict/$target.dict")
    fi
    status=0
    "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$findings/" "${dict[@]}" "$corpus" >"$log" 2>&1 || status=$?

    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    entries=$(find "$corpus" -type f | wc -l)
    crashes=$(find "$findings" -type f | wc -l)
    result=clean
    if [ "$status" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        result="FOUND: $(ls "$findings" | tr '\n' ' ')(exit $status, see $log)"
        failed=1
    fi
    printf '%-22s %8s %12s %9s %8s  %s\n' "$target" "$seconds" "${executions:-?}" \
        "${rate:-?}" "$entries" "$result"
    printf '%s\t%s\t%s\t%s\t%s\n' "$target" "$seconds" "${executions:-0}" "$entries" \
        "$crashes" >>"$summary"
done
echo "summary: $summary"
exit "$failed"
