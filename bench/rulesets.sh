#!/usr/bin/env bash
# The default ruleset's cost: `--ruleset default` against `--ruleset classic` on the same tree,
# in one paired run (runs alternate, so both see the same machine load).
#
#   bench/rulesets.sh TREE
#
# Prints the median wall time of RUNS runs (default 5) and the peak RSS of each, and the ratio
# default / classic (issue 8's goal: at most 1.5), twice: as users run it (writing the SARIF log,
# which costs the classic ruleset more: thousands of findings to hash and write), and without
# the report (`--no-sarif`), which compares the scans alone. Set ANTEATER to use another binary.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/.." && pwd)
work="$here/.work"
runs=${RUNS:-5}
mkdir -p "$work"

[ $# -eq 1 ] && [ -d "$1" ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
tree=$(cd "$1" && pwd)
command -v python3 >/dev/null || { echo "bench: python3 is needed" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is needed: apt-get install -y time" >&2; exit 2; }
if [ -z "${ANTEATER:-}" ]; then
  echo "bench: building anteater (release)" >&2
  (cd "$repo_root" && cargo build --release --locked --quiet)
  ANTEATER="$repo_root/target/release/anteater"
fi

# Warm the page cache, then alternate the two rulesets RUNS times.
"$ANTEATER" --path "$tree" --ruleset classic --fail-on never --sarif "$work/rulesets.sarif" >/dev/null 2>&1 || true
python3 - "$runs" "$work" "$ANTEATER" "$tree" <<'PY'
import os, statistics, subprocess, sys, time
runs, work, anteater, tree = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
kinds = [(ruleset, report) for report in ("sarif", "none") for ruleset in ("classic", "default")]
times = {kind: [] for kind in kinds}
rss = {kind: 0 for kind in kinds}
for _ in range(runs):
    for ruleset, report in kinds:
        output = ["--sarif", os.path.join(work, "rulesets.sarif")] if report == "sarif" else ["--no-sarif"]
        cmd = ["/usr/bin/time", "-f", "%M", "-o", os.path.join(work, "rulesets.rss"), anteater,
               "--path", tree, "--ruleset", ruleset, "--fail-on", "never", *output]
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[(ruleset, report)].append(time.perf_counter() - start)
        with open(os.path.join(work, "rulesets.rss")) as f:
            rss[(ruleset, report)] = max(rss[(ruleset, report)], int(f.read().split()[-1]))
print(f"bench: tree {tree}; {runs} paired runs; {os.cpu_count()} CPUs")
for report, label in (("sarif", "with the SARIF log"), ("none", "scan alone (--no-sarif)")):
    median = {ruleset: statistics.median(times[(ruleset, report)]) for ruleset in ("classic", "default")}
    for ruleset in ("classic", "default"):
        print(f"bench: {label:24} {ruleset:8} {median[ruleset]:7.3f} s  peak RSS {rss[(ruleset, report)]:7d} KB")
    print(f"bench: {label:24} wall-time ratio default/classic = {median['default'] / median['classic']:.2f}")
PY
