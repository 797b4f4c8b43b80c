# shellcheck shell=bash
# Shared by the proof scripts (`. scripts/lib/checks.sh`): TAP-like result lines, a failure
# count, timings, and a PATH without a Rust toolchain.

# The including script sets failures=0; not_ok counts up from there.
ok() { echo "ok - $*"; }
not_ok() { echo "NOT OK - $*" >&2; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
seconds() { # seconds START_MS: elapsed time as S.s
  local ms=$(($(now_ms) - $1))
  printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100))
}
# The system folders that hold no cargo or rustc, ':'-separated (~/.cargo/bin is left out).
rustless_path() {
  local dir path=
  for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
    if [ -d "$dir" ] && [ ! -e "$dir/cargo" ] && [ ! -e "$dir/rustc" ]; then path=${path:+$path:}$dir; fi
  done
  echo "$path"
}
