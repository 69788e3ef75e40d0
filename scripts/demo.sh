#!/usr/bin/env bash
# Runs the supervisor on a local demo: builds what is needed (dev preset), starts
# opamp-devserver on loopback, and starts opampsupervisor managing the stand-in collector
# (otelcol-standin, a test double of otelcol-contrib; see the README for a real collector).
# Once the collector is healthy it pushes a sample remote config from the server, and it
# prints what the server sees as it changes (connection, health, the remote config status:
# APPLYING, APPLIED); Ctrl-C stops everything cleanly.
#
# DEMO_OPAMP_PORT, DEMO_ADMIN_PORT and DEMO_DIR move it; DEMO_BIN names a folder with the
# three programs already built (the test of this script uses it), skipping the build.
set -euo pipefail
cd "$(dirname "$0")/.."

opamp_port=${DEMO_OPAMP_PORT:-4320}
admin_port=${DEMO_ADMIN_PORT:-4321}
work=${DEMO_DIR:-$PWD/build/demo}

if [ -n "${DEMO_BIN:-}" ]; then
    bin=$(cd "$DEMO_BIN" && pwd)
else
    scripts/install-deps.sh
    cmake --preset dev >/dev/null
    cmake --build build/dev --target opampsupervisor otelcol-standin opamp-devserver
    bin=$PWD/build/dev/bin
fi

mkdir -p "$work"
cat >"$work/collector.yaml" <<YAML
# The collector's local config: the stand-in receiver's data goes to a file.
receivers:
  standin:
    interval: 1s
exporters:
  file:
    path: $work/data.jsonl
service:
  pipelines:
    metrics:
      receivers: [standin]
      exporters: [file]
YAML
cat >"$work/supervisor.yaml" <<YAML
server:
  endpoint: ws://127.0.0.1:$opamp_port/v1/opamp
capabilities:
  reports_effective_config: true
  reports_health: true
  reports_available_components: true
  accepts_restart_command: true
  accepts_remote_config: true
agent:
  executable: $bin/otelcol-standin
  config_files: [$work/collector.yaml]
storage:
  directory: $work/storage
telemetry:
  logs:
    output_paths: [$work/supervisor.log]
YAML

# A config to push from the server: faster data, to a second file.
cat >"$work/remote-config.json" <<JSON
{"config": {"": "receivers:\\n  standin:\\n    interval: 200ms\\nexporters:\\n  file:\\n    path: $work/remote.jsonl\\nservice:\\n  pipelines:\\n    traces:\\n      receivers: [standin]\\n      exporters: [file]\\n"}}
JSON

pids=()
cleanup() {
    trap - INT TERM EXIT
    echo
    echo "demo: stopping"
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    echo "demo: stopped; logs and state are in $work"
}
# A stop request ends the script after the cleanup; without the exit, the loop below would
# carry on once the handler returned.
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

"$bin/opamp-devserver" --listen "127.0.0.1:$opamp_port" --admin-listen "127.0.0.1:$admin_port" \
    --quiet 2>"$work/devserver.log" &
pids+=($!)
"$bin/opampsupervisor" --config "$work/supervisor.yaml" &
pids+=($!)

admin="http://127.0.0.1:$admin_port/api"
echo "demo: opamp-devserver on ws://127.0.0.1:$opamp_port/v1/opamp, admin API $admin/agents"
echo "demo: web page http://127.0.0.1:$admin_port/ (agents, health, configs; push a config)"
echo "demo: supervisor log $work/supervisor.log, collector output $work/storage/agent.log"
echo "demo: push a config:  curl -s -X POST $admin/agents/all/config -d @$work/remote-config.json"
echo "demo: (the demo pushes that one itself once the collector is healthy)"
echo "demo: restart it:     curl -s -X POST $admin/agents/all/restart        (Ctrl-C to stop)"

# What the server knows, in one line, whenever it changes. Uses bash's /dev/tcp so the demo
# needs no HTTP client.
agents() {
    exec 3<>"/dev/tcp/127.0.0.1/$admin_port" || return 1
    printf 'GET /api/agents HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
    cat <&3
    exec 3<&-
}
# Pushes the sample remote config to every agent, through the admin API.
push_sample_config() {
    local length
    length=$(wc -c <"$work/remote-config.json")
    exec 4<>"/dev/tcp/127.0.0.1/$admin_port" || return 1
    printf 'POST /api/agents/all/config HTTP/1.0\r\nHost: localhost\r\n' >&4
    printf 'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n' "$length" >&4
    cat "$work/remote-config.json" >&4
    cat <&4 >/dev/null
    exec 4<&-
}
# One field of the server's answer; empty when it has not been reported yet (grep finding
# nothing must not end the script under pipefail).
field() { grep -o "$1" <<<"$body" | head -1 || true; }
last=""
pushed=0
while sleep 0.2; do
    body=$(agents 2>/dev/null) || continue
    uid=$(field '"instance_uid":"[^"]*"' | cut -d'"' -f4)
    [ -n "$uid" ] || continue
    connected=$(field '"connected":[a-z]*' | cut -d: -f2)
    healthy=$(field '"health":{"healthy":[a-z]*' | sed 's/.*://')
    version=$(field '"service.version","value":{"string_value":"[^"]*"' |
        sed 's/.*"string_value":"//; s/"$//')
    remote=$(field '"remote_config_status":{"status":"RemoteConfigStatuses_[A-Z]*' |
        sed 's/.*_//')
    lines=$({ cat "$work"/*.jsonl 2>/dev/null || true; } | wc -l)
    line="agent $uid connected=${connected:-?} healthy=${healthy:-?} collector=${version:-?}"
    line+=" remote_config=${remote:-?}"
    if [ "$line" != "$last" ]; then
        [ -z "$last" ] || echo  # end the progress line
        echo "demo: $line"
        last=$line
    fi
    if [ "$pushed" -eq 0 ] && [ "$connected" = true ] && [ "$healthy" = true ]; then
        echo
        echo "demo: pushing a sample remote config (data every 200 ms, to $work/remote.jsonl)"
        push_sample_config && pushed=1
    fi
    printf '\rdemo: data batches written by the collector ($work/*.jsonl): %s ' "$lines"
done
