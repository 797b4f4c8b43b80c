#!/bin/sh
# anteater's container entrypoint, for GitHub Actions, GitLab CI, Jenkins and plain `docker run`.
#
#   entrypoint.sh [ANTEATER OPTIONS]   run the gate; `entrypoint.sh anteater [OPTIONS]` is the same
#   entrypoint.sh COMMAND [ARGS...]    run COMMAND instead (Jenkins starts images with `cat`,
#                                      people with `sh`): exec'd as is, no Redis is started
#
# Running the gate:
# - Only when a VirusTotal lookup is asked (--ips, --urls or --bincheck, or ANTEATER_IPS,
#   ANTEATER_URLS, ANTEATER_BINCHECK switched on) and no shared Redis is configured (REDIS_URL
#   or ANTEATER_REDIS_URL not empty), start a throwaway redis-server for anteater's VirusTotal
#   rate limit and verdict cache: compiled-in defaults, but bound to 127.0.0.1, no persistence,
#   its files in a fresh temp dir (so any UID can run it), on a free port (another Redis on 6379,
#   a Kubernetes runner's service for instance, is no obstacle); wait until it answers PING,
#   export REDIS_URL, stop it afterwards. A scan without lookups starts nothing.
# - Run anteater with the arguments given (GitHub passes the action's inputs as ANTEATER_*
#   variables) and exit with its code: 0 clean, 1 findings, 2 the scan failed.
# - In GitHub Actions (GITHUB_ACTIONS=true): run in GITHUB_WORKSPACE.
# - Running as root in a folder another user owns (GitHub's workspace, `docker run -v
#   "$PWD:/src" -w /src`): hand the files written there back to that owner, so that they can
#   read and delete the reports.
# - When GITHUB_OUTPUT is set, append exit_code=N to it (anteater itself writes sarif_file and
#   findings there).
#
# Environment read here (anteater reads the rest):
#   ANTEATER_REDIS_PORT     port of the throwaway Redis [a free one]; when set, that port or exit 2
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

if [ "${GITHUB_ACTIONS-}" = true ] && [ -n "${GITHUB_WORKSPACE-}" ]; then
  cd "$GITHUB_WORKSPACE"
fi

state=$(mktemp -d "${TMPDIR:-/tmp}/anteater.XXXXXX")
redis_pid=
redis_port=

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

# A port in 20000-59999 that is probably free: from the kernel's random source, as busybox and
# dash have no $RANDOM. Whether it really is free, redis-server finds out by binding it.
random_port() {
  echo $((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
}

# Starts redis-server on $redis_port; true when it answers PING, false when it exited (the
# port was taken); exits 2 when it neither answers nor exits within the timeout.
redis_on_port() {
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --dir "$state" --pidfile "$state/redis.pid" --logfile "$state/redis.log" --daemonize no &
  redis_pid=$!
  tries=0
  until our_redis_answers; do
    if ! kill -0 "$redis_pid" 2>/dev/null; then
      wait "$redis_pid" 2>/dev/null || true
      redis_pid=
      return 1
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge $((timeout * 10)) ]; then
      say "redis-server on 127.0.0.1:$redis_port did not answer PING within ${timeout}s; its log:"
      sed 's/^/    /' "$state/redis.log" >&2 2>/dev/null || true
      finish 2
    fi
    sleep 0.1
  done
}

start_redis() {
  timeout=${ANTEATER_REDIS_TIMEOUT:-10}
  case "$timeout" in
    '' | *[!0-9]*) say "ANTEATER_REDIS_TIMEOUT must be a number of seconds, not '$timeout'"; finish 2 ;;
  esac
  if [ -n "${ANTEATER_REDIS_PORT-}" ]; then
    # A port asked for is that port or nothing: a silent move elsewhere would hide the clash.
    redis_port=$ANTEATER_REDIS_PORT
    if ! redis_on_port; then
      say "redis-server could not start on 127.0.0.1:$redis_port; its log:"
      sed 's/^/    /' "$state/redis.log" >&2 2>/dev/null || true
      say "set ANTEATER_REDIS_PORT to a free port (or leave it unset), or REDIS_URL to a running Redis"
      finish 2
    fi
  else
    attempts=0
    redis_port=$(random_port)
    until redis_on_port; do
      attempts=$((attempts + 1))
      if [ "$attempts" -ge 20 ]; then
        say "redis-server could not start on 20 random ports (the last 127.0.0.1:$redis_port); its log:"
        sed 's/^/    /' "$state/redis.log" >&2 2>/dev/null || true
        say "set REDIS_URL to a running Redis"
        finish 2
      fi
      redis_port=$(random_port)
    done
  fi
  export REDIS_URL="redis://127.0.0.1:$redis_port"
}

# True when a switch (an ANTEATER_* value) is on, read as anteater reads it: true, 1, yes or on,
# in any case, blanks trimmed. (A value anteater refuses stops anteater itself with exit 2.)
switched_on() {
  case "$(printf '%s' "$1" | tr -d ' \t' | tr '[:upper:]' '[:lower:]')" in
    true | 1 | yes | on) return 0 ;;
  esac
  return 1
}

# Does this run ask for a VirusTotal lookup, the only work that needs Redis?
wants_lookups() {
  for arg in "$@"; do
    case "$arg" in
      --ips | --urls | --bincheck) return 0 ;;
      # What follows is a file name, not an option.
      --) break ;;
    esac
  done
  switched_on "${ANTEATER_IPS-}" || switched_on "${ANTEATER_URLS-}" || switched_on "${ANTEATER_BINCHECK-}"
}

if [ -z "${REDIS_URL-}" ] && [ -z "${ANTEATER_REDIS_URL-}" ] && wants_lookups "$@"; then
  start_redis
fi

# Files anteater writes into the workspace as root are handed back to the workspace's owner
# (GitHub's runner user; the host user of `docker run -v "$PWD:/src"`): anteater writes its
# reports readable by their owner only, and a root-owned report can be neither read nor
# deleted by the user, later steps or the next checkout. The mark is set a second early: file
# times have a coarse clock.
owner=
if [ "$(id -u)" -eq 0 ]; then
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
