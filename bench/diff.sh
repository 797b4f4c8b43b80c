#!/usr/bin/env bash
# Diff-mode cost: a 10-file change in a large repository, compared with a full scan of it.
#
#   bench/diff.sh [TREE]
#
# Without TREE the crate-source corpus of bench/compare.sh is used (made first if missing). The
# tree is committed into a git repository under bench/.work/, ten files get one new line each in
# a second commit, and `anteater --diff HEAD~1` is timed against a full scan (median of RUNS=5).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/.." && pwd)
work="$here/.work"
runs=${RUNS:-5}
mkdir -p "$work"

if [ $# -ge 1 ]; then
  source_tree=$(cd "$1" && pwd)
else
  source_tree="$work/tree-100mb"
  [ -f "$source_tree/.complete" ] || RUNS=1 bash "$here/compare.sh" >/dev/null
fi

(cd "$repo_root" && cargo build --release --locked --quiet)
anteater="$repo_root/target/release/anteater"

repo="$work/diff-repo"
if [ ! -f "$repo/.complete" ]; then
  echo "bench: committing $source_tree into a git repository (once)" >&2
  rm -rf "$repo"
  mkdir -p "$repo"
  cp -r "$source_tree/." "$repo/"
  rm -f "$repo/.complete"
  git -C "$repo" init -q -b main
  git -C "$repo" -c user.email=bench@example.org -c user.name=bench add -A
  git -C "$repo" -c user.email=bench@example.org -c user.name=bench commit -q -m base
  # Ten changed files, one new line each.
  git -C "$repo" ls-files '*.rs' > "$work/diff-files.txt"
  sed -n '1,10p' "$work/diff-files.txt" | while read -r file; do
    printf '\n// changed by bench/diff.sh: md5 of the payload\n' >> "$repo/$file"
  done
  git -C "$repo" -c user.email=bench@example.org -c user.name=bench commit -q -am "ten-file change"
  touch "$repo/.complete"
fi

# median COMMAND...: the median wall time over $runs runs.
. "$here/lib.sh"

size_mb=$(du -sm --exclude=.git "$repo" | cut -f1)
files=$(git -C "$repo" ls-files | wc -l)
echo "bench: repository of $files files, $size_mb MB; change: 10 files, one line each; $runs runs"
full=$(median "$anteater" --path "$repo" --ruleset classic --fail-on never --sarif "$work/full.sarif")
diffed=$(median "$anteater" --path "$repo" --ruleset classic --fail-on never --diff HEAD~1 --sarif "$work/diff.sarif")
findings=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['runs'][0]['results']))" "$work/diff.sarif")
echo "bench: full scan      ${full} s"
echo "bench: --diff HEAD~1  ${diffed} s  ($findings findings, all on the changed lines)"
python3 -c "import sys; print(f'bench: diff / full = {float(sys.argv[1])/float(sys.argv[2]):.3f}')" "$diffed" "$full"
