#!/usr/bin/env bash
# The default ruleset's cost: `--ruleset default` against `--ruleset classic` on the same tree,
# in one paired run (runs alternate, so both see the same machine load).
#
#   bench/rulesets.sh TREE
#
# Prints the median wall time of RUNS runs (default 5) and the peak RSS of each, and the ratio
# default / classic (issue 8's goal: at most 1.5). The whole run includes writing the SARIF log,
# which costs the classic ruleset more (thousands of findings to hash and write); the scan alone
# (the time anteater prints after "files looked at") is compared too. Set ANTEATER to use
# another binary.
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
import os, re, statistics, subprocess, sys, time
runs, work, anteater, tree = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
times = {"classic": [], "default": []}
scan_times = {"classic": [], "default": []}
rss = {"classic": 0, "default": 0}
for _ in range(runs):
    for ruleset in times:
        cmd = ["/usr/bin/time", "-f", "%M", "-o", os.path.join(work, "rulesets.rss"), anteater,
               "--path", tree, "--ruleset", ruleset, "--fail-on", "never",
               "--sarif", os.path.join(work, "rulesets.sarif")]
        start = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        times[ruleset].append(time.perf_counter() - start)
        scanned = re.search(r"files looked at .* in ([0-9.]+)s", done.stdout)
        if scanned:
            scan_times[ruleset].append(float(scanned.group(1)))
        with open(os.path.join(work, "rulesets.rss")) as f:
            rss[ruleset] = max(rss[ruleset], int(f.read().split()[-1]))
print(f"bench: tree {tree}; {runs} paired runs; {os.cpu_count()} CPUs")
for ruleset in times:
    scan = statistics.median(scan_times[ruleset]) if scan_times[ruleset] else float("nan")
    print(f"bench: {ruleset:8} {statistics.median(times[ruleset]):8.3f} s  (scan {scan:.2f} s)  peak RSS {rss[ruleset]:7d} KB")
ratio = statistics.median(times["default"]) / statistics.median(times["classic"])
print(f"bench: wall-time ratio default/classic = {ratio:.2f}")
if scan_times["classic"] and scan_times["default"]:
    scan_ratio = statistics.median(scan_times["default"]) / statistics.median(scan_times["classic"])
    print(f"bench: scan-time ratio default/classic = {scan_ratio:.2f} (without writing the report)")
PY
