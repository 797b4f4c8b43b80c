#!/usr/bin/env bash
# Two anteater binaries side by side, in alternation, on the same tree and the same repository:
# the question "did this change cost speed?" answered in one run.
#
#   bench/versus.sh OLD_BINARY NEW_BINARY TREE [GIT_DIR]
#
# Times (median of RUNS=5) a tree scan of TREE with the default and the classic ruleset (the
# scan alone, --no-sarif), and, given GIT_DIR (a repository, cloned --shared into a temporary
# folder), `--diff HEAD~50..HEAD` and `--history`. Prints each time for both binaries, the
# ratio new/old, and the peak RSS of the default tree scan.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
runs=${RUNS:-5}
. "$here/lib.sh"
[ $# -ge 3 ] || { echo "usage: bench/versus.sh OLD_BINARY NEW_BINARY TREE [GIT_DIR]" >&2; exit 2; }
absolute() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
old=$(absolute "$1")
new=$(absolute "$2")
tree=$(cd "$3" && pwd)
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is needed: apt-get install -y time" >&2; exit 2; }

rss() { # binary args...: peak RSS in MB
  /usr/bin/time -f '%M' "$@" >/dev/null 2>"$work/rss" || true
  awk 'END { printf "%.1f", $1 / 1024 }' "$work/rss"
}

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

printf 'case\told_s\tnew_s\tnew/old\n'
compare() { # name dir args...
  local name=$1 dir=$2
  shift 2
  local o n
  o=$(cd "$dir" && median "$old" "$@")
  n=$(cd "$dir" && median "$new" "$@")
  printf '%s\t%s\t%s\t%s\n' "$name" "$o" "$n" "$(python3 -c "print(f'{$n / $o:.2f}')")"
}
compare "tree, default ruleset" "$tree" --path . --no-sarif --exit-zero --ruleset default
compare "tree, classic ruleset" "$tree" --path . --no-sarif --exit-zero --ruleset classic
printf 'peak RSS, default tree scan: old %s MB, new %s MB\n' \
  "$(cd "$tree" && rss "$old" --path . --no-sarif --exit-zero --ruleset default)" \
  "$(cd "$tree" && rss "$new" --path . --no-sarif --exit-zero --ruleset default)"

if [ $# -ge 4 ]; then
  git clone -q --shared --no-checkout "$4" "$work/repo"
  git -C "$work/repo" checkout -q --detach HEAD
  compare "--diff HEAD~50..HEAD" "$work/repo" --path . --no-sarif --exit-zero --diff HEAD~50..HEAD
  compare "--history" "$work/repo" --path . --no-sarif --exit-zero --history
fi
