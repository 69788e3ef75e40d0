#!/usr/bin/env bash
# The benchmark: builds the supervisor optimised (the `bench` preset: Release, with the
# stand-in collector and the dev server), runs bench/bench.py and writes
# docs/benchmarks.md. Arguments go to bench.py, for example:
#   bench/run.sh                       # the published run: 5 repeats, 10 min idle CPU
#   bench/run.sh --repeats 3 --idle-seconds 60 --markdown /tmp/quick.md
# Run it on a quiet machine: the figures are medians, but other load still shows.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
command -v python3 >/dev/null || apt-get install -y --no-install-recommends python3
cmake --preset bench >/dev/null
cmake --build build/bench --target opampsupervisor opamp-devserver otelcol-standin compose-bench

args=("$@")
if [[ ! " ${args[*]-} " =~ " --markdown " ]]; then
    args+=(--markdown docs/benchmarks.md)
fi
exec python3 bench/bench.py --bin "$PWD/build/bench/bin" --command "bench/run.sh${*:+ $*}" "${args[@]}"
