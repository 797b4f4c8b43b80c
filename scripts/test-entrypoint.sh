#!/usr/bin/env bash
# Proves entrypoint.sh on the host, with a real redis-server and the release binary:
#   it scans and passes exit codes 0, 1 and 2 through; it starts a Redis only when a VirusTotal
#   lookup is asked (--ips/--urls/--bincheck or ANTEATER_IPS/URLS/BINCHECK), on a free port even
#   with 127.0.0.1:6379 taken (answering PING, REDIS_URL exported) and stops it; with REDIS_URL
#   or ANTEATER_REDIS_URL set it starts none; it execs commands; it fails clearly when a Redis
#   asked on a port cannot start or never answers; in GitHub mode it runs in GITHUB_WORKSPACE and
#   appends exit_code to GITHUB_OUTPUT once; as root it hands the reports back to the owner of
#   the folder it ran in (GitHub's workspace, `docker run -v "$PWD:/src"`), who can read them;
#   it works as a non-root UID. Runs under dash, the strictest POSIX sh here, and shellcheck
#   must find nothing.
#
#   scripts/test-entrypoint.sh            (ANTEATER_BIN=path to use another anteater binary)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

for tool in redis-server redis-cli dash python3 setpriv shellcheck ps; do
  command -v "$tool" >/dev/null || { echo "test-entrypoint: $tool is missing" >&2; exit 1; }
done
if [ -z "${ANTEATER_BIN:-}" ]; then
  cargo build --release --locked --quiet
  ANTEATER_BIN=$repo/target/release/anteater
fi

# shellcheck source=/dev/null # scripts/lib/checks.sh: ok, not_ok, check, now_ms, seconds, rustless_path
. scripts/lib/checks.sh # the working folder is the repository
failures=0

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
  # The entrypoint runs anteater as its child: a Redis it started is anteater's sibling.
  echo "started_redis=$(ps -o comm= --ppid "$PPID" | grep -c '^redis-server')"
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

unset REDIS_URL ANTEATER_REDIS_URL GITHUB_ACTIONS GITHUB_WORKSPACE GITHUB_OUTPUT ANTEATER_REDIS_PORT
unset ANTEATER_PATH ANTEATER_PROJECT ANTEATER_SARIF ANTEATER_CONFIG ANTEATER_IPS ANTEATER_URLS ANTEATER_BINCHECK
# Lookups asked in these runs go to a port where nothing listens: the clean fixture has no
# indicator to look up, so none is sent; the key is a placeholder.
VT_API_KEY=placeholder-not-a-key
VT_API_URL=http://127.0.0.1:$(free_port)/api/v3
export VT_API_KEY VT_API_URL
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
stopped() { # the Redis that answered the probe is gone and its port is free
  local pid url
  pid=$(probe_value redis_pid)
  url=$(probe_value url)
  [ -n "$pid" ] && [ -n "$url" ] && ! kill -0 "$pid" 2>/dev/null && ! answers "${url##*:}"
}
no_redis_started() { # the run's anteater saw no REDIS_URL and no Redis beside it
  [ -z "$(probe_value url)" ] && [ "$(probe_value started_redis)" = 0 ]
}
show() { sed 's/^/    | /' "$work/$1.out" >&2; }
expect_rc() { # expect_rc RUN-NAME WANTED DESCRIPTION: checks $rc, shows the run's output if wrong
  if [ "$rc" -eq "$2" ]; then ok "$3: exit code $rc"; else not_ok "$3: exit code $rc, expected $2"; show "$1"; fi
}

echo "== shellcheck"
check "shellcheck entrypoint.sh" shellcheck entrypoint.sh
check "shellcheck -s dash entrypoint.sh" shellcheck -s dash entrypoint.sh
check "shellcheck of the proof scripts" shellcheck scripts/test-entrypoint.sh scripts/test-container.sh

echo "== entrypoint.sh on the host (dash, redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'))"
# 127.0.0.1:6379 is taken, as on a runner with a Redis service: by a Redis of ours when the
# port is free, else by whatever holds it already. The entrypoint must not need it.
if ! python3 -c 'import socket; socket.create_connection(("127.0.0.1", 6379), 1)' 2>/dev/null; then
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --dir "$work" \
    --logfile "$work/redis-6379.log" &
  extra_redis+=("$!")
  for _ in $(seq 50); do answers 6379 && break; sleep 0.1; done
fi
check "127.0.0.1:6379 is taken" python3 -c 'import socket; socket.create_connection(("127.0.0.1", 6379), 1)'

run findings "$work/findings" --project testproject --path tests/testproject
expect_rc findings 1 findings
results=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["runs"][0]["results"]))' "$work/findings/anteater.sarif" 2>/dev/null || echo none)
check "findings: the 7 planted findings in the SARIF (got $results)" test "$results" = 7
check "findings: no lookup asked, no Redis started, REDIS_URL unset" no_redis_started
check "findings: its temp dir is removed" test -z "$(ls -A "$TMPDIR")"

run clean "$work/clean"
expect_rc clean 0 clean
check "clean: no lookup asked, no Redis started" no_redis_started

run broken "$work/clean" --path does-not-exist
expect_rc broken 2 "failed scan (missing --path)"

run flags "$work/findings" anteater --project testproject --path tests/testproject --fail-on never
check "'entrypoint.sh anteater OPTIONS' runs the gate too (exit $rc)" test "$rc" -eq 0

echo "== a VirusTotal lookup asked: a throwaway Redis on a free port"
run lookup "$work/clean" --ips --path .
expect_rc lookup 0 "--ips"
lookup_url=$(probe_value url)
check "--ips: REDIS_URL exported for anteater ($lookup_url)" bash -c "[[ '$lookup_url' =~ ^redis://127\.0\.0\.1:[0-9]+$ ]]"
check "--ips: not on the taken port 6379" test "${lookup_url##*:}" != 6379
check "--ips: its Redis answered PING during the scan" test "$(probe_value ping)" = PONG
check "--ips: it is the entrypoint's own ($(probe_value started_redis) started)" test "$(probe_value started_redis)" = 1
check "--ips: its Redis has no persistence ($(probe_value persistence))" test "$(probe_value persistence)" = "save  appendonly no "
check "--ips: its Redis is bound to 127.0.0.1" test "$(probe_value bind)" = 127.0.0.1
check "--ips: its Redis is stopped afterwards" stopped
check "--ips: its temp dir is removed" test -z "$(ls -A "$TMPDIR")"
check "--ips: the Redis on 6379 still runs" answers 6379
for ask in --urls --bincheck; do
  run "lookup$ask" "$work/clean" "$ask" --path .
  check "$ask: exit $rc, its own Redis answered PING and was stopped" \
    test "$rc" -eq 0 -a "$(probe_value ping)" = PONG -a "$(probe_value started_redis)" = 1
  check "$ask: stopped afterwards" stopped
done
ANTEATER_URLS=' Yes ' run env-on "$work/clean"
check "ANTEATER_URLS=' Yes ' (as anteater reads it): exit $rc, a Redis started" \
  test "$rc" -eq 0 -a "$(probe_value ping)" = PONG
check "ANTEATER_URLS: stopped afterwards" stopped
ANTEATER_IPS=false ANTEATER_BINCHECK=0 run env-off "$work/clean"
check "ANTEATER_IPS=false ANTEATER_BINCHECK=0: exit $rc, no Redis started" test "$rc" -eq 0
check "switches off: no Redis started" no_redis_started
run after-dashdash "$work/clean" --path . -- --ips
check "'-- --ips' names a file, asks no lookup: no Redis started" no_redis_started
run broken-lookup "$work/clean" --ips --path does-not-exist
expect_rc broken-lookup 2 "failed scan with --ips"
check "failed scan with --ips: its Redis is stopped afterwards" stopped

echo "== a shared Redis is configured: the entrypoint starts none"
shared_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$shared_port" --save '' --appendonly no --dir "$work" \
  --logfile "$work/shared-redis.log" &
extra_redis+=("$!")
shared_pid=$!
for _ in $(seq 50); do answers "$shared_port" && break; sleep 0.1; done
check "shared Redis is up on $shared_port" answers "$shared_port"
# With --ips on the clean fixture: a lookup is asked, yet nothing is looked up (no indicator).
REDIS_URL=redis://127.0.0.1:$shared_port run shared "$work/clean" --ips
check "REDIS_URL: exit code 0 ($rc)" test "$rc" -eq 0
check "REDIS_URL: anteater sees the shared URL unchanged" test "$(probe_value url)" = "redis://127.0.0.1:$shared_port"
check "REDIS_URL: no Redis was started (the probe reached the shared one)" test "$(probe_value redis_pid)" = "$shared_pid"
check "REDIS_URL: no Redis was started beside anteater" test "$(probe_value started_redis)" = 0
check "REDIS_URL: the shared Redis is left running" answers "$shared_port"
ANTEATER_REDIS_URL=redis://127.0.0.1:$shared_port run shared2 "$work/clean" --ips
check "ANTEATER_REDIS_URL: exit code 0 ($rc)" test "$rc" -eq 0
check "ANTEATER_REDIS_URL: no Redis was started (REDIS_URL stays unset)" no_redis_started

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
# The port asked for (ANTEATER_REDIS_PORT) is taken by another Redis: ours cannot start there,
# the run says so rather than move elsewhere, and the other one is left alone.
ANTEATER_REDIS_PORT=$shared_port run taken "$work/clean" --ips
check "port taken: exit code 2 ($rc)" test "$rc" -eq 2
check "port taken: a clear message" grep -q "redis-server could not start on 127.0.0.1:$shared_port" "$work/taken.out"
check "port taken: the other Redis still runs" answers "$shared_port"
check "port taken: anteater did not run" test ! -e "$probe"
# A redis-server that never answers: the wait times out.
mkdir -p "$work/mute"
printf '#!/bin/sh\necho $$ >%s/mute.pid\nexec sleep 60\n' "$work" >"$work/mute/redis-server"
chmod 755 "$work/mute" "$work/mute/redis-server"
started=$(date +%s)
PATH="$work/mute:$PATH" ANTEATER_REDIS_TIMEOUT=1 run mute "$work/clean" --ips
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

echo "== as root in a folder the host user owns, like docker run -v \"\$PWD:/src\" -w /src (no GitHub)"
ws=$work/docker-run-workspace
cp -r tests/fixtures/anteater-original "$ws"
chown -R 4321:4321 "$ws"
run docker-run "$ws" --project testproject --path tests/testproject --junit anteater-junit.xml
expect_rc docker-run 1 "docker run"
check "docker run: SARIF owned by the folder's owner ($(stat -c %u:%g "$ws/anteater.sarif"))" test "$(stat -c %u:%g "$ws/anteater.sarif")" = 4321:4321
check "docker run: JUnit report owned by the folder's owner ($(stat -c %u:%g "$ws/anteater-junit.xml"))" \
  test "$(stat -c %u:%g "$ws/anteater-junit.xml")" = 4321:4321
check "docker run: the owner can read the reports" \
  setpriv --reuid 4321 --regid 4321 --clear-groups sh -c 'cat "$@" >/dev/null' _ "$ws/anteater.sarif" "$ws/anteater-junit.xml"
check "docker run: nothing in the folder left owned by root" test -z "$(find "$ws" -user 0)"

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
check "non-root: no lookup asked, no Redis started" no_redis_started
check "non-root: SARIF owned by 1234" test "$(stat -c %u "$work/nonroot/anteater.sarif")" = 1234
# A lookup asked as that UID: its Redis keeps its files in a temp dir that UID can write.
cp -r tests/fixtures/clean-project "$work/nonroot-clean"
chown -R 1234:1234 "$work/nonroot-clean"
set +e
(cd "$work/nonroot-clean" && setpriv --reuid 1234 --regid 1234 --clear-groups \
  env PROBE="$work/nonroot-clean/probe" HOME=/nonexistent dash "$work/entrypoint.sh" --ips --path .) \
  >"$work/nonroot-clean.out" 2>&1
rc=$?
set -e
probe=$work/nonroot-clean/probe
expect_rc nonroot-clean 0 "non-root with --ips"
check "non-root: its Redis answered PING" test "$(probe_value ping)" = PONG
check "non-root: its Redis is stopped afterwards" stopped
check "non-root: its temp dir is removed" test -z "$(ls -A "$TMPDIR")"

echo
if [ "$failures" -ne 0 ]; then
  echo "ENTRYPOINT PROOF FAILED: $failures check(s)" >&2
  exit 1
fi
echo "ENTRYPOINT PROOF PASSED"
