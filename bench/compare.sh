#!/usr/bin/env bash
# Speed benchmark: anteater and ripgrep, same content patterns, same tree, same run.
#
#   bench/compare.sh [TREE]
#
# Without TREE, a corpus of >= 100 MB is made from the crate sources in the cargo registry
# (copied as often as needed) under bench/.work/. The patterns are the content regexes of the
# `classic` ruleset (rules/classic.yaml); anteater runs with `--ruleset classic`, which also
# checks file names, so anteater does at least the work ripgrep does.
#
# Prints, for each tool, the median wall time of RUNS runs (default 5) and the peak RSS, then
# the wall-time ratio anteater / ripgrep. Memory is also measured on a tree twice the size, to
# show it does not grow with the tree.
#
# ANTEATER=PATH uses that binary instead of building one. ANTEATER_OLD=PATH adds "did this change
# cost speed?": the old and the new anteater run in alternation on the same tree (same command
# as above, the SARIF log included), with the ratio new/old.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work="$here/.work"
runs=${RUNS:-5}
mkdir -p "$work"

need() { command -v "$1" >/dev/null || { echo "bench: $1 is needed ($2)" >&2; exit 2; }; }
need python3 "to read the rules"
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is needed: apt-get install -y time" >&2; exit 2; }

# ripgrep 14 or later: Debian's ripgrep 13 is no reference (its Unicode \b handling is many
# times slower), so a current one is built from the cargo registry into bench/.work/tools.
rg_bin=""
for candidate in "$work/tools/bin/rg" "$(command -v rg || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    major=$("$candidate" --version | head -1 | sed -E 's/^ripgrep ([0-9]+).*/\1/')
    if [ "$major" -ge 14 ]; then rg_bin=$candidate; break; fi
  fi
done
if [ -z "$rg_bin" ]; then
  echo "bench: installing ripgrep (cargo install ripgrep --locked)" >&2
  cargo install ripgrep --locked --quiet --root "$work/tools"
  rg_bin="$work/tools/bin/rg"
fi

if [ -z "${ANTEATER:-}" ]; then
  echo "bench: building anteater (release)" >&2
  (cd "$repo" && cargo build --release --locked --quiet)
  ANTEATER="$repo/target/release/anteater"
fi
anteater_bin=$ANTEATER

# The same content patterns for both tools.
patterns="$work/classic.patterns"
python3 - "$repo/rules/classic.yaml" "$patterns" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
content = text.split("\nfile_names:")[0]
patterns = []
for match in re.finditer(r"^\s+pattern: (.*)$", content, re.M):
    value = match.group(1).strip()
    if value.startswith("'") and value.endswith("'"):
        value = value[1:-1].replace("''", "'")
    elif value.startswith('"') and value.endswith('"'):
        value = bytes(value[1:-1], "utf-8").decode("unicode_escape")
    patterns.append(value)
open(sys.argv[2], "w").write("\n".join(patterns) + "\n")
print(f"bench: {len(patterns)} content patterns from the classic ruleset", file=sys.stderr)
PY

make_tree() { # make_tree DIR MIN_MB
  local dir=$1 min_mb=$2 source="${CARGO_HOME:-$HOME/.cargo}/registry/src"
  [ -d "$source" ] || { echo "bench: no cargo registry sources at $source; pass a TREE" >&2; exit 2; }
  if [ -f "$dir/.complete" ]; then return; fi
  rm -rf "$dir"; mkdir -p "$dir"
  local copy=0
  while [ "$(du -sm "$dir" | cut -f1)" -lt "$min_mb" ]; do
    copy=$((copy + 1))
    cp -r "$source" "$dir/copy-$copy"
  done
  touch "$dir/.complete"
}

if [ $# -ge 1 ]; then
  tree=$(cd "$1" && pwd)
  big_tree=""
else
  tree="$work/tree-100mb"; make_tree "$tree" 100
  big_tree="$work/tree-200mb"; make_tree "$big_tree" 200
fi

# Runs a command RUNS times; prints "median_seconds peak_rss_kb". Wall time is taken with a
# monotonic clock around each run (/usr/bin/time only has 10 ms steps); the peak RSS is the
# largest /usr/bin/time saw. Output goes to a file: ripgrep stops at the first match when its
# stdout is /dev/null.
measure() {
  python3 - "${MEASURE_RUNS:-$runs}" "$work/out.txt" "$work/time.txt" "$@" <<'PY'
import statistics, subprocess, sys, time
runs, out, stats, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
times = []
for _ in range(runs):
    with open(out, "wb") as sink:
        start = time.perf_counter()
        subprocess.run(cmd, stdout=sink, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
with open(out, "wb") as sink, open(stats, "w") as err:
    subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=sink, stderr=err)
with open(stats) as err:
    rss = int(err.read().strip().splitlines()[-1])
print(f"{statistics.median(times):.3f} {rss}")
PY
}

size_mb=$(du -sm "$tree" | cut -f1)
files=$(find "$tree" -type f | wc -l)
echo "bench: tree $tree: $size_mb MB, $files files; $runs runs each; $(nproc) CPUs"
echo "bench: $("$rg_bin" --version | head -1); anteater $("$anteater_bin" --version | awk '{print $2}')"

# Warm the page cache so both tools read from memory.
"$rg_bin" --no-ignore --hidden -c -f "$patterns" "$tree" >/dev/null 2>&1 || true

read -r rg_time rg_rss < <(measure "$rg_bin" --no-ignore --hidden --no-heading -n -f "$patterns" "$tree")
read -r at_time at_rss < <(measure "$anteater_bin" --path "$tree" --ruleset classic --fail-on never --sarif "$work/bench.sarif")
findings=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['runs'][0]['results']))" "$work/bench.sarif")

printf 'bench: ripgrep   %8.3f s  peak RSS %7d KB\n' "$rg_time" "$rg_rss"
printf 'bench: anteater  %8.3f s  peak RSS %7d KB  (%s findings)\n' "$at_time" "$at_rss" "$findings"
python3 -c "import sys; print(f'bench: wall-time ratio anteater/ripgrep = {float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$at_time" "$rg_time"

if [ -n "${ANTEATER_OLD:-}" ]; then
  . "$here/lib.sh"
  read -r o n r < <(paired "$ANTEATER_OLD" "$anteater_bin" --path "$tree" --ruleset classic --fail-on never --sarif "$work/bench-pair.sarif")
  printf 'bench: old anteater %8.3f s, new %8.3f s: wall-time ratio new/old = %s\n' "$o" "$n" "$r"
fi

if [ -n "$big_tree" ]; then
  big_mb=$(du -sm "$big_tree" | cut -f1)
  "$anteater_bin" --path "$big_tree" --ruleset classic --fail-on never --sarif "$work/bench-big.sarif" >/dev/null 2>&1 || true
  read -r big_time big_rss < <(MEASURE_RUNS=3 measure "$anteater_bin" --path "$big_tree" --ruleset classic --fail-on never --sarif "$work/bench-big.sarif")
  printf 'bench: anteater on %d MB: %.3f s, peak RSS %d KB (vs %d KB on %d MB)\n' "$big_mb" "$big_time" "$big_rss" "$at_rss" "$size_mb"
fi
