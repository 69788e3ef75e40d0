#!/usr/bin/env bash
# The README's quick start as a newcomer runs it: scripts/demo.sh, with the programs of
# this build (DEMO_BIN) and on free ports. It must bring the collector up healthy, push its
# sample remote config and report it APPLIED, the collector must then write where that
# config says, and a stop request must end everything: no process of the demo left.
#
#   quick_start_test.sh REPO_ROOT BIN_DIR
#
# The demo is stopped with SIGTERM, which its trap handles as it handles Ctrl-C: a shell
# started in the background, as this one starts it, cannot trap SIGINT.
set -euo pipefail
root=$1
bin=$2
work=$(mktemp -d)
demo=""
cleanup() {
    if [ -n "$demo" ] && kill -0 "$demo" 2>/dev/null; then
        kill -KILL "$demo" 2>/dev/null || true
    fi
    demo_processes | while read -r pid _; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The processes whose command line names the demo's folder (the supervisor and its
# collector), read from /proc so no procps is needed.
demo_processes() {
    local f pid cmd
    for f in /proc/[0-9]*/cmdline; do
        cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
        if [[ $cmd == *"$work/"* ]]; then
            pid=${f#/proc/}
            echo "${pid%/cmdline} $cmd"
        fi
    done
}

free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

# Waits up to $1 seconds for the demo's output to hold the pattern $2.
wait_for() {
    local deadline=$((SECONDS + $1))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if grep -q -- "$2" "$work/demo.out"; then
            return 0
        fi
        sleep 0.2
    done
    echo "FAIL: no \"$2\" in the demo's output within $1 s:" >&2
    cat "$work/demo.out" >&2
    echo "--- supervisor log" >&2
    tail -n 30 "$work/demo/supervisor.log" >&2 || true
    return 1
}

opamp_port=$(free_port)
admin_port=$(free_port)
while [ "$admin_port" = "$opamp_port" ]; do admin_port=$(free_port); done
DEMO_BIN=$bin DEMO_DIR=$work/demo DEMO_OPAMP_PORT=$opamp_port DEMO_ADMIN_PORT=$admin_port \
    "$root/scripts/demo.sh" >"$work/demo.out" 2>&1 &
demo=$!

wait_for 60 "connected=true healthy=true"
wait_for 30 "demo: pushing a sample remote config"
wait_for 60 "remote_config=APPLIED"
# The pushed config writes to remote.jsonl: it is the one running now.
deadline=$((SECONDS + 30))
until [ -s "$work/demo/remote.jsonl" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "FAIL: the pushed config's file $work/demo/remote.jsonl stayed empty" >&2
        exit 1
    fi
    sleep 0.2
done

kill -TERM "$demo"
status=0
wait "$demo" || status=$?
demo=""
wait_for 5 "demo: stopped"
left=$(demo_processes)
if [ -n "$left" ]; then
    echo "FAIL: processes of the demo outlived it:" >&2
    echo "$left" >&2
    exit 1
fi
for port in "$opamp_port" "$admin_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "FAIL: something still listens on the demo's port $port (opamp-devserver?)" >&2
        exit 1
    fi
done
echo "ok: the quick start came up, applied its sample config and stopped cleanly (exit $status)"
