#!/bin/sh
# anteater's container entrypoint, for GitHub Actions, GitLab CI, Jenkins and plain `docker run`.
#
#   entrypoint.sh [ANTEATER OPTIONS]   run the gate; `entrypoint.sh anteater [OPTIONS]` is the same
#   entrypoint.sh COMMAND [ARGS...]    run COMMAND instead (Jenkins starts images with `cat`,
#                                      people with `sh`): exec'd as is, no Redis is started
#
# Running the gate:
# - Unless a shared Redis is configured (REDIS_URL or ANTEATER_REDIS_URL not empty), start a
#   throwaway redis-server for anteater's VirusTotal rate limit and verdict cache: compiled-in
#   defaults, but bound to 127.0.0.1, no persistence, its files in a fresh temp dir (so any UID
#   can run it), wait until it answers PING, export REDIS_URL, stop it afterwards.
# - Run anteater with the arguments given (GitHub passes the action's inputs as ANTEATER_*
#   variables) and exit with its code: 0 clean, 1 findings, 2 the scan failed.
# - In GitHub Actions (GITHUB_ACTIONS=true): run in GITHUB_WORKSPACE, and when running as root
#   hand the files written into the workspace back to the workspace's owner.
# - When GITHUB_OUTPUT is set, append exit_code=N to it (anteater itself writes sarif_file and
#   findings there).
#
# Environment read here (anteater reads the rest):
#   ANTEATER_REDIS_PORT     port of the throwaway Redis [6379]
#   ANTEATER_REDIS_TIMEOUT  seconds to wait for it to answer PING [10]
set -eu

me=anteater-entrypoint
say() { printf '%s: %s\n' "$me" "$*" >&2; }

case "${1-}" in
  anteater) shift ;;
  -h | --help | -V | --version) exec anteater "$@" ;;
  '' | -*) ;;
  *) exec "$@" ;;
esac

in_github=false
if [ "${GITHUB_ACTIONS-}" = true ]; then
  in_github=true
  if [ -n "${GITHUB_WORKSPACE-}" ]; then
    cd "$GITHUB_WORKSPACE"
  fi
fi

state=$(mktemp -d "${TMPDIR:-/tmp}/anteater.XXXXXX")
redis_pid=
redis_port=${ANTEATER_REDIS_PORT:-6379}

stop_redis() {
  if [ -n "$redis_pid" ]; then
    # SIGTERM: Redis shuts down cleanly (and saves nothing, --save ''). Not `redis-cli shutdown`:
    # the port may belong to another Redis when ours failed to start.
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=
  fi
}

cleanup() {
  stop_redis
  rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Appends exit_code to the step outputs, stops Redis and exits with $1.
finish() {
  if [ -n "${GITHUB_OUTPUT-}" ]; then
    printf 'exit_code=%s\n' "$1" >>"$GITHUB_OUTPUT"
  fi
  cleanup
  trap - EXIT
  exit "$1"
}

# True when the redis-server we started (not another one on the same port) answers PING.
our_redis_answers() {
  redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -qx PONG &&
    redis-cli -h 127.0.0.1 -p "$redis_port" info server 2>/dev/null | tr -d '\r' |
    grep -qx "process_id:$redis_pid"
}

start_redis() {
  timeout=${ANTEATER_REDIS_TIMEOUT:-10}
  case "$timeout" in
    '' | *[!0-9]*) say "ANTEATER_REDIS_TIMEOUT must be a number of seconds, not '$timeout'"; finish 2 ;;
  esac
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --dir "$state" --pidfile "$state/redis.pid" --logfile "$state/redis.log" --daemonize no &
  redis_pid=$!
  tries=0
  until our_redis_answers; do
    if ! kill -0 "$redis_pid" 2>/dev/null; then
      wait "$redis_pid" 2>/dev/null || true
      redis_pid=
      say "redis-server could not start on 127.0.0.1:$redis_port; its log:"
      sed 's/^/    /' "$state/redis.log" >&2 2>/dev/null || true
      say "set ANTEATER_REDIS_PORT to a free port, or REDIS_URL to a running Redis"
      finish 2
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge $((timeout * 10)) ]; then
      say "redis-server on 127.0.0.1:$redis_port did not answer PING within ${timeout}s; its log:"
      sed 's/^/    /' "$state/redis.log" >&2 2>/dev/null || true
      finish 2
    fi
    sleep 0.1
  done
  export REDIS_URL="redis://127.0.0.1:$redis_port"
}

if [ -z "${REDIS_URL-}" ] && [ -z "${ANTEATER_REDIS_URL-}" ]; then
  start_redis
fi

# Files anteater writes into the workspace as root are handed back to the workspace's owner
# (the runner's user), or later steps and the next checkout cannot delete them. The mark is set
# a second early: file times have a coarse clock.
owner=
if [ "$in_github" = true ] && [ "$(id -u)" -eq 0 ]; then
  owner=$(stat -c '%u:%g' .)
  if [ "$owner" = 0:0 ]; then
    owner=
  else
    touch -d "@$(($(date +%s) - 1))" "$state/started"
  fi
fi

code=0
anteater "$@" || code=$?

if [ -n "$owner" ]; then
  find . -xdev -user 0 -newer "$state/started" -exec chown -h "$owner" {} + ||
    say "could not hand the files written to $owner"
fi

finish "$code"
