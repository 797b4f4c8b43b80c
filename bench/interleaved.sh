#!/usr/bin/env bash
# Scaling of --diff and --history with many small hunks: a file of N lines gets one added
# finding line after each of its lines, and both modes are timed at N = 10k, 40k and 160k.
# Linear work shows as a time ratio near 4 between successive sizes; quadratic work as 16.
#
#   bench/interleaved.sh [ANTEATER_BINARY]
#
# Before issue 18 (item 21) each finding's line was looked up in a list of ranges: 0.4 s at
# 10k lines and 5.3 s at 40k in --diff.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/.." && pwd)
runs=${RUNS:-3}
. "$here/lib.sh"

if [ $# -ge 1 ]; then
  anteater=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
else
  (cd "$repo_root" && cargo build --release --locked --quiet)
  anteater="$repo_root/target/release/anteater"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git_() { git -C "$1" -c user.email=bench@example.org -c user.name=bench -c commit.gpgsign=false "${@:2}"; }

printf 'lines\tdiff_s\thistory_s\n'
for lines in 10000 40000 160000; do
  repo="$work/repo-$lines"
  mkdir -p "$repo"
  git_ "$repo" init -q -b main
  python3 - "$repo/data.txt" "$lines" plain <<'PY'
import sys
path, lines = sys.argv[1], int(sys.argv[2])
with open(path, "w") as out:
    for n in range(lines):
        out.write(f"plain line {n} of the file\n")
PY
  git_ "$repo" add -A
  git_ "$repo" commit -q -m base
  python3 - "$repo/data.txt" "$lines" <<'PY'
import sys
path, lines = sys.argv[1], int(sys.argv[2])
with open(path, "w") as out:
    for n in range(lines):
        out.write(f"plain line {n} of the file\n")
        out.write(f"digest = md5(payload_{n})\n")
PY
  git_ "$repo" add -A
  git_ "$repo" commit -q -m interleave
  diff_s=$(cd "$repo" && median "$anteater" --path . --no-sarif --ruleset classic --exit-zero --diff HEAD~1)
  history_s=$(cd "$repo" && median "$anteater" --path . --no-sarif --ruleset classic --exit-zero --diff HEAD~1..HEAD)
  printf '%s\t%s\t%s\n' "$lines" "$diff_s" "$history_s"
done
