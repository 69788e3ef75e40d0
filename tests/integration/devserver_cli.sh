#!/usr/bin/env bash
# Runs the opamp-devserver binary as a user would: it prints where it listens, answers the
# admin API, refuses bad options with exit code 2, and stops cleanly on SIGTERM.
set -euo pipefail
bin="$1"
pid=""
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" --version | grep -q '^opamp-devserver ' || fail "--version"
"$bin" --help | grep -q -- '--admin-listen' || fail "--help"
set +e
"$bin" --bogus >/dev/null 2>"$dir/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "unknown option exited $rc, not 2"
grep -q 'unknown option --bogus' "$dir/err" || fail "unknown option message"
set +e
"$bin" --csr-ca-cert ca.pem >/dev/null 2>"$dir/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--csr-ca-cert without --csr-ca-key exited $rc, not 2"
grep -q -- '--csr-ca-cert and --csr-ca-key go together' "$dir/err" || fail "CSR CA message"
set +e
"$bin" --csr-validity-days 0 >/dev/null 2>"$dir/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--csr-validity-days 0 exited $rc, not 2"
grep -q 'expected a number of days' "$dir/err" || fail "CSR validity message"

"$bin" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --quiet >"$dir/out" 2>&1 &
pid=$!
for _ in $(seq 100); do
    grep -q 'admin API' "$dir/out" && break
    sleep 0.1
done
admin=$(sed -n 's|.*admin API: http://127.0.0.1:\([0-9]*\)/api/agents|\1|p' "$dir/out")
[ -n "$admin" ] || fail "no admin address printed: $(cat "$dir/out")"
grep -q 'ws://127.0.0.1:[0-9]*/v1/opamp' "$dir/out" || fail "no OpAMP endpoint printed"

# A plain HTTP request through bash's /dev/tcp, so the test needs no curl.
exec 3<>"/dev/tcp/127.0.0.1/$admin"
printf 'GET /api/agents HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
reply=$(cat <&3)
exec 3>&-
echo "$reply" | grep -q '200 OK' || fail "admin API status: $reply"
echo "$reply" | grep -q '{"agents":\[\]}' || fail "admin API body: $reply"

kill -TERM "$pid"
wait "$pid" || fail "exit status $? after SIGTERM"
echo "opamp-devserver CLI: ok"
