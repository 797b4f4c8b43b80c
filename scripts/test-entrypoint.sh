#!/usr/bin/env bash
# Proves entrypoint.sh on the host, with a real redis-server and the release binary:
#   it starts its own Redis (answering PING, REDIS_URL exported), scans, passes exit codes 0, 1
#   and 2 through, stops its Redis; with REDIS_URL or ANTEATER_REDIS_URL set it starts none;
#   it execs commands; it fails clearly when its Redis cannot start or never answers; in GitHub
#   mode it runs in GITHUB_WORKSPACE, appends exit_code to GITHUB_OUTPUT once, and hands files
#   back to the workspace owner; it works as a non-root UID. Runs under dash, the strictest
#   POSIX sh here, and shellcheck must find nothing.
#
#   scripts/test-entrypoint.sh            (ANTEATER_BIN=path to use another anteater binary)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

for tool in redis-server redis-cli dash python3 setpriv shellcheck; do
  command -v "$tool" >/dev/null || { echo "test-entrypoint: $tool is missing" >&2; exit 1; }
done
if [ -z "${ANTEATER_BIN:-}" ]; then
  cargo build --release --locked --quiet
  ANTEATER_BIN=$repo/target/release/anteater
fi

failures=0
ok() { echo "ok - $*"; }
not_ok() { echo "NOT OK - $*" >&2; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}

work=$(mktemp -d /tmp/anteater-entrypoint-test.XXXXXX)
chmod 755 "$work" # the non-root run must reach it
extra_redis=()
cleanup() {
  local pid
  for pid in "${extra_redis[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Wait for them to exit: a Redis shutting down writes its last log lines into $work, and a
  # file written after rm read the folder makes the removal fail.
  for pid in "${extra_redis[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
answers() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -qx PONG; }

# `anteater` on PATH is a probe that records what the entrypoint set up, then runs the real one.
mkdir -p "$work/bin"
cp "$ANTEATER_BIN" "$work/bin/anteater.real"
cat >"$work/bin/anteater" <<'EOF'
#!/bin/sh
probe=${PROBE:?}
{
  echo "url=${REDIS_URL-}"
  echo "cwd=$(pwd)"
  echo "sidecar=$(redis-cli -h 127.0.0.1 -p "${ANTEATER_REDIS_PORT:?}" ping 2>/dev/null)"
  if [ -n "${REDIS_URL-}" ]; then
    port=${REDIS_URL##*:}
    echo "ping=$(redis-cli -h 127.0.0.1 -p "$port" ping 2>&1)"
    echo "redis_pid=$(redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')"
    echo "persistence=$(redis-cli -h 127.0.0.1 -p "$port" config get save 2>/dev/null | tr '\n' ' ')$(redis-cli -h 127.0.0.1 -p "$port" config get appendonly 2>/dev/null | tr '\n' ' ')"
    echo "bind=$(redis-cli -h 127.0.0.1 -p "$port" config get bind 2>/dev/null | sed -n 2p)"
  fi
} >"$probe"
exec "$(dirname "$0")/anteater.real" "$@"
EOF
chmod 755 "$work/bin" "$work/bin/anteater"
export PATH="$work/bin:$PATH"

# Fixtures: the original's test project (7 findings) and a clean one.
cp -r tests/fixtures/anteater-original "$work/findings"
cp -r tests/fixtures/clean-project "$work/clean"
chmod -R a+rX "$work/findings" "$work/clean"

port=$(free_port)
unset REDIS_URL ANTEATER_REDIS_URL GITHUB_ACTIONS GITHUB_WORKSPACE GITHUB_OUTPUT
unset ANTEATER_PATH ANTEATER_PROJECT ANTEATER_SARIF ANTEATER_CONFIG
export ANTEATER_REDIS_PORT=$port
# The entrypoint's temp dirs go here, so that leftovers can be seen.
export TMPDIR=$work/tmp
mkdir -p "$TMPDIR"
chmod 1777 "$TMPDIR"

# run NAME DIR [entrypoint args...]: runs the entrypoint under dash in DIR; sets $rc and $probe.
run() {
  local name=$1 dir=$2; shift 2
  probe=$work/$name.probe
  rm -f "$probe"
  set +e
  (cd "$dir" && PROBE=$probe dash "$repo/entrypoint.sh" "$@") >"$work/$name.out" 2>&1
  rc=$?
  set -e
}
probe_value() { sed -n "s/^$1=//p" "$probe" 2>/dev/null; }
stopped() { # the Redis that answered the probe is gone and the port is free
  local pid
  pid=$(probe_value redis_pid)
  [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && ! answers "$port"
}
show() { sed 's/^/    | /' "$work/$1.out" >&2; }
expect_rc() { # expect_rc RUN-NAME WANTED DESCRIPTION: checks $rc, shows the run's output if wrong
  if [ "$rc" -eq "$2" ]; then ok "$3: exit code $rc"; else not_ok "$3: exit code $rc, expected $2"; show "$1"; fi
}

echo "== shellcheck"
check "shellcheck entrypoint.sh" shellcheck entrypoint.sh
check "shellcheck -s dash entrypoint.sh" shellcheck -s dash entrypoint.sh
check "shellcheck of the proof scripts" shellcheck scripts/test-entrypoint.sh scripts/test-container.sh

echo "== entrypoint.sh on the host (dash, redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), port $port)"
run findings "$work/findings" --project testproject --path tests/testproject
expect_rc findings 1 findings
results=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["runs"][0]["results"]))' "$work/findings/anteater.sarif" 2>/dev/null || echo none)
check "findings: the 7 planted findings in the SARIF (got $results)" test "$results" = 7
check "findings: REDIS_URL exported for anteater ($(probe_value url))" test "$(probe_value url)" = "redis://127.0.0.1:$port"
check "findings: its Redis answered PING during the scan" test "$(probe_value ping)" = PONG
check "findings: its Redis has no persistence ($(probe_value persistence))" test "$(probe_value persistence)" = "save  appendonly no "
check "findings: its Redis is bound to 127.0.0.1" test "$(probe_value bind)" = 127.0.0.1
check "findings: its Redis is stopped afterwards" stopped
check "findings: its temp dir is removed" test -z "$(ls -A "$TMPDIR")"

run clean "$work/clean"
expect_rc clean 0 clean
check "clean: its Redis answered PING during the scan" test "$(probe_value ping)" = PONG
check "clean: its Redis is stopped afterwards" stopped

run broken "$work/clean" --path does-not-exist
expect_rc broken 2 "failed scan (missing --path)"
check "failed scan: its Redis is stopped afterwards" stopped

run flags "$work/findings" anteater --project testproject --path tests/testproject --fail-on never
check "'entrypoint.sh anteater OPTIONS' runs the gate too (exit $rc)" test "$rc" -eq 0 -a "$(probe_value ping)" = PONG

echo "== a shared Redis is configured: the entrypoint starts none"
shared_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$shared_port" --save '' --appendonly no --dir "$work" \
  --logfile "$work/shared-redis.log" &
extra_redis+=("$!")
for _ in $(seq 50); do answers "$shared_port" && break; sleep 0.1; done
check "shared Redis is up on $shared_port" answers "$shared_port"
REDIS_URL=redis://127.0.0.1:$shared_port run shared "$work/findings" --project testproject --path tests/testproject
check "REDIS_URL: exit code 1 ($rc)" test "$rc" -eq 1
check "REDIS_URL: anteater sees the shared URL unchanged" test "$(probe_value url)" = "redis://127.0.0.1:$shared_port"
check "REDIS_URL: no Redis was started (the probe reached the shared one)" test "$(probe_value redis_pid)" = "${extra_redis[0]}"
check "REDIS_URL: nothing answered on the sidecar port during the scan" test -z "$(probe_value sidecar)"
check "REDIS_URL: the shared Redis is left running" answers "$shared_port"
ANTEATER_REDIS_URL=redis://127.0.0.1:$shared_port run shared2 "$work/clean"
check "ANTEATER_REDIS_URL: exit code 0 ($rc)" test "$rc" -eq 0
check "ANTEATER_REDIS_URL: no Redis was started (REDIS_URL stays unset)" test -z "$(probe_value url)"
check "ANTEATER_REDIS_URL: nothing answered on the sidecar port during the scan" test -z "$(probe_value sidecar)"

echo "== commands are exec'd, not scanned"
# shellcheck disable=SC2016 # expanded by the command's shell
run command "$work/clean" sh -c 'echo "pid $$ redis=${REDIS_URL-unset}"; exit 7'
check "'sh -c ... exit 7' exits 7 ($rc)" test "$rc" -eq 7
check "the command ran without a Redis and without anteater" grep -qx 'pid [0-9]* redis=unset' "$work/command.out"
run cat "$work/clean" cat /dev/null
check "'cat' (how Jenkins starts an image) runs and exits 0 ($rc)" test "$rc" -eq 0
run version "$work/clean" --version
check "--version is answered by anteater (exit $rc: $(head -1 "$work/version.out"))" grep -q '^anteater ' "$work/version.out"

echo "== Redis failures are reported, never hidden"
# The sidecar port is taken by another Redis: ours cannot start, and the other one is left alone.
ANTEATER_REDIS_PORT=$shared_port run taken "$work/clean"
check "port taken: exit code 2 ($rc)" test "$rc" -eq 2
check "port taken: a clear message" grep -q "redis-server could not start on 127.0.0.1:$shared_port" "$work/taken.out"
check "port taken: the other Redis still runs" answers "$shared_port"
check "port taken: anteater did not run" test ! -e "$probe"
# A redis-server that never answers: the wait times out.
mkdir -p "$work/mute"
printf '#!/bin/sh\necho $$ >%s/mute.pid\nexec sleep 60\n' "$work" >"$work/mute/redis-server"
chmod 755 "$work/mute" "$work/mute/redis-server"
started=$(date +%s)
PATH="$work/mute:$PATH" ANTEATER_REDIS_TIMEOUT=1 run mute "$work/clean"
took=$(($(date +%s) - started))
check "no PING answer: exit code 2 ($rc)" test "$rc" -eq 2
check "no PING answer: a clear message" grep -q 'did not answer PING within 1s' "$work/mute.out"
check "no PING answer: gave up after ${took}s" test "$took" -le 5
check "no PING answer: the mute server was stopped" bash -c "! kill -0 \$(cat '$work/mute.pid') 2>/dev/null"

echo "== GitHub Actions mode (GITHUB_ACTIONS=true, root, workspace owned by 4321:4321)"
ws=$work/github-workspace
cp -r tests/fixtures/anteater-original "$ws"
chown -R 4321:4321 "$ws"
out=$work/github-output
: >"$out"
GITHUB_ACTIONS=true GITHUB_WORKSPACE=$ws GITHUB_OUTPUT=$out ANTEATER_PROJECT=testproject \
  ANTEATER_PATH=tests/testproject run github "$work/clean"
check "GitHub: exit code 1 ($rc)" test "$rc" -eq 1
check "GitHub: ran in GITHUB_WORKSPACE" test "$(probe_value cwd)" = "$ws"
check "GitHub: SARIF written into the workspace" test -s "$ws/anteater.sarif"
check "GitHub: SARIF owned by the workspace owner ($(stat -c %u:%g "$ws/anteater.sarif"))" test "$(stat -c %u:%g "$ws/anteater.sarif")" = 4321:4321
check "GitHub: nothing in the workspace left owned by root" test -z "$(find "$ws" -user 0)"
for name in sarif_file findings exit_code; do
  check "GitHub: output $name written once ($(grep "^$name=" "$out" | tr '\n' ' '))" test "$(grep -c "^$name=" "$out")" -eq 1
done
check "GitHub: findings=7, exit_code=1" grep -qx 'findings=7' "$out"
check "GitHub: exit_code=1" grep -qx 'exit_code=1' "$out"

echo "== as a non-root UID (1234:1234), like Jenkins runs images"
cp -r tests/fixtures/anteater-original "$work/nonroot"
chown -R 1234:1234 "$work/nonroot"
# The checkout may sit in a folder only root can enter (a 0700 mktemp -d, /root/...): the
# non-root user runs a copy of the entrypoint it can read.
install -m 755 entrypoint.sh "$work/entrypoint.sh"
set +e
(cd "$work/nonroot" && setpriv --reuid 1234 --regid 1234 --clear-groups \
  env PROBE="$work/nonroot/probe" HOME=/nonexistent dash "$work/entrypoint.sh" --project testproject --path tests/testproject) \
  >"$work/nonroot.out" 2>&1
rc=$?
set -e
probe=$work/nonroot/probe
expect_rc nonroot 1 non-root
check "non-root: its Redis answered PING" test "$(probe_value ping)" = PONG
check "non-root: its Redis is stopped afterwards" stopped
check "non-root: SARIF owned by 1234" test "$(stat -c %u "$work/nonroot/anteater.sarif")" = 1234
check "non-root: its temp dir is removed" test -z "$(ls -A "$TMPDIR")"

echo
if [ "$failures" -ne 0 ]; then
  echo "ENTRYPOINT PROOF FAILED: $failures check(s)" >&2
  exit 1
fi
echo "ENTRYPOINT PROOF PASSED"
