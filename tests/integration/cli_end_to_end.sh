#!/usr/bin/env bash
# The opampsupervisor binary as a user runs it: exit codes and messages of --version,
# validate on every example, validate on broken configs, and a run that prepares storage
# and stops in order on SIGTERM (the supervisor's behaviour with a collector is tested in
# tests/e2e).
set -euo pipefail
supervisor=$1
examples=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

check() {  # check <description> <expected exit> <expected text or ""> -- command...
    local what=$1 want=$2 text=$3
    shift 4
    local code=0
    "$@" >"$work/out" 2>"$work/err" || code=$?
    if [ "$code" != "$want" ]; then
        echo "FAIL: $what: exit $code, want $want"; cat "$work/out" "$work/err"; failures=$((failures + 1))
    elif [ -n "$text" ] && ! grep -qF -- "$text" "$work/out" "$work/err"; then
        echo "FAIL: $what: output lacks '$text'"; cat "$work/out" "$work/err"; failures=$((failures + 1))
    else
        echo "ok: $what"
    fi
}

printf '#!/bin/sh\nexit 0\n' >"$work/otelcol-contrib"
chmod +x "$work/otelcol-contrib"
printf 'receivers: {}\n' >"$work/fallback.yaml"

check "--version" 0 "opampsupervisor version" -- "$supervisor" --version
check "--help" 0 "Usage:" -- "$supervisor" --help
check "no arguments" 2 "--config is required" -- "$supervisor"

for example in "$examples"/*.yaml; do
    name=$(basename "$example")
    sed -e "s#executable: .*#executable: $work/otelcol-contrib#" \
        -e "s#- /etc/otelcol/fallback.yaml#- $work/fallback.yaml#" "$example" >"$work/$name"
    check "validate $name" 0 "configuration is valid" -- "$supervisor" validate --config "$work/$name"
done

cat >"$work/broken.yaml" <<YAML
server:
  endpoint: gopher://example.com
agent:
  executable: $work/otelcol-contrib
  bootstrap_timeout: 3
  opamp_server_port: 70000
capabilites: {}
YAML
check "validate broken config" 1 "broken.yaml:2:13: server.endpoint: unsupported scheme" \
    -- "$supervisor" validate --config "$work/broken.yaml"
grep -qF "4 problems in the config" "$work/err" || { echo "FAIL: not all problems reported"; failures=$((failures + 1)); }
grep -qF "broken.yaml:7:1: capabilites: unknown key (did you mean \"capabilities\"?)" "$work/err" \
    || { echo "FAIL: unknown key not reported"; failures=$((failures + 1)); }
check "validate missing file" 1 "config file does not exist" -- "$supervisor" validate --config "$work/none.yaml"

cat >"$work/run.yaml" <<YAML
server:
  endpoint: ws://127.0.0.1:9/v1/opamp
agent:
  executable: $work/otelcol-contrib
  bootstrap_timeout: 1s
storage:
  directory: $work/storage
YAML
# A run keeps going until it is told to stop: wait for it to prepare storage, then SIGTERM.
"$supervisor" --config "$work/run.yaml" >"$work/run.out" 2>"$work/run.err" &
pid=$!
for _ in $(seq 1 200); do
    [ -f "$work/storage/persistent_state.yaml" ] && grep -qF "Collector command line" "$work/run.err" "$work/run.out" && break
    sleep 0.05
done
kill -TERM "$pid"
code=0
wait "$pid" || code=$?
if [ "$code" != 0 ]; then
    echo "FAIL: run stopped by SIGTERM: exit $code, want 0"; cat "$work/run.out" "$work/run.err"; failures=$((failures + 1))
elif ! grep -qF "Shutdown complete" "$work/run.out" "$work/run.err"; then
    echo "FAIL: run did not shut down in order"; cat "$work/run.out" "$work/run.err"; failures=$((failures + 1))
else
    echo "ok: run prepares storage and stops on SIGTERM"
fi
[ "$(stat -c %a "$work/storage")" = "700" ] || { echo "FAIL: storage mode is not 0700"; failures=$((failures + 1)); }

echo "$((failures == 0 ? 1 : 0)) passed, $failures failed"
[ "$failures" -eq 0 ]
