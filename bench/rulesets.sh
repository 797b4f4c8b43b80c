#!/usr/bin/env bash
# The default ruleset's cost: `--ruleset default` against `--ruleset classic` on the same tree,
# in one paired run (runs alternate, so both see the same machine load).
#
#   [RUNS=5] [EXTRA_RULES=N] [KINGFISHER=PATH] bench/rulesets.sh TREE
#
# Prints the median wall time of RUNS runs and the peak RSS of each, and the ratio default /
# classic, twice: as users run it (with the SARIF log) and the scan alone (`--no-sarif`).
# EXTRA_RULES=N adds a "default+N" run: the default ruleset and N synthetic provider-style rules
# (case-insensitive word keywords, given as a gitleaks configuration), to see how the scan grows
# with the ruleset. KINGFISHER=PATH adds a kingfisher run (no validation) to the scan-alone rows.
# Set ANTEATER to use another binary. ANTEATER_OLD=PATH adds "did this change cost speed?": each
# anteater run is made by the old binary too, in the same alternation, with the ratio new/old.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/.." && pwd)
work="$here/.work"
runs=${RUNS:-5}
extra=${EXTRA_RULES:-0}
kingfisher=${KINGFISHER:-}
mkdir -p "$work"

[ $# -eq 1 ] && [ -d "$1" ] || { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
tree=$(cd "$1" && pwd)
command -v python3 >/dev/null || { echo "bench: python3 is needed" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is needed: apt-get install -y time" >&2; exit 2; }
[ -z "$kingfisher" ] || [ -x "$kingfisher" ] || { echo "bench: KINGFISHER=$kingfisher is not executable" >&2; exit 2; }
old=${ANTEATER_OLD:-}
[ -z "$old" ] || [ -x "$old" ] || { echo "bench: ANTEATER_OLD=$old is not executable" >&2; exit 2; }
if [ -z "${ANTEATER:-}" ]; then
  echo "bench: building anteater (release)" >&2
  (cd "$repo_root" && cargo build --release --locked --quiet)
  ANTEATER="$repo_root/target/release/anteater"
fi

# Synthetic rules shaped like provider rules: a made-up name (4 to 20 letters) as the keyword,
# in a case-insensitive pattern that names it before a long token.
if [ "$extra" -gt 0 ]; then
  python3 - "$extra" "$work/extra-rules.toml" <<'PY'
import random, sys
count, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(19)
syllables = ["ka", "lo", "mix", "pan", "zu", "lip", "we", "bex", "ta", "bleau", "cal", "en", "dar",
             "ific", "tro", "no", "ver", "sa", "qu", "io", "lan", "dex", "ry", "po", "stel", "gra",
             "fy", "ne", "tix", "mo", "zen", "ar", "bo", "cu", "dri", "fa", "gi", "hu", "jo", "ku"]
names = set()
while len(names) < 2 * count:
    name = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
    if 4 <= len(name) <= 20:
        names.add(name)
names = sorted(names)
rng.shuffle(names)
with open(path, "w") as out:
    for i in range(count):
        keywords = [names.pop() for _ in range(rng.randint(1, 3))]
        alternatives = "|".join(keywords)
        out.write(f'[[rules]]\nid = "synthetic-{i}"\n'
                  f"regex = '''(?i)(?:{alternatives})[a-z0-9_.-]{{0,20}}[\\s'\"]{{0,3}}(?:=|:|:=|=>)[\\s'\"]{{0,5}}([a-z0-9]{{32}})\\b'''\n"
                  f"secretGroup = 1\nkeywords = [{', '.join(repr(k) for k in keywords)}]\n\n")
PY
fi

# Warm the page cache, then alternate the runs RUNS times.
"$ANTEATER" --path "$tree" --ruleset classic --fail-on never --sarif "$work/rulesets.sarif" >/dev/null 2>&1 || true
python3 - "$runs" "$work" "$ANTEATER" "$tree" "$extra" "$kingfisher" "$old" <<'PY'
import os, statistics, subprocess, sys, time
runs, work, anteater, tree, extra, kingfisher, old = int(sys.argv[1]), *sys.argv[2:5], int(sys.argv[5]), *sys.argv[6:8]
rulesets = {"classic": ["--ruleset", "classic"], "default": ["--ruleset", "default"]}
if extra:
    rulesets[f"default+{extra}"] = ["--ruleset", "default", "--gitleaks-config", os.path.join(work, "extra-rules.toml")]
kinds = [(ruleset, report) for report in ("sarif", "none") for ruleset in rulesets]
if old:
    kinds = [(prefix + ruleset, report) for ruleset, report in kinds for prefix in ("old ", "")]
if kingfisher:
    kinds.append(("kingfisher", "none"))
times = {kind: [] for kind in kinds}
rss = {kind: 0 for kind in kinds}
for _ in range(runs):
    for ruleset, report in kinds:
        if ruleset == "kingfisher":
            program = [kingfisher, "scan", tree, "-n", "--no-update-check", "--git-history", "none",
                       "--rule-cache-dir", os.path.join(work, "kingfisher-cache")]
        else:
            output = ["--sarif", os.path.join(work, "rulesets.sarif")] if report == "sarif" else ["--no-sarif"]
            binary, name = (old, ruleset[4:]) if ruleset.startswith("old ") else (anteater, ruleset)
            program = [binary, "--path", tree, *rulesets[name], "--fail-on", "never", *output]
        cmd = ["/usr/bin/time", "-f", "%M", "-o", os.path.join(work, "rulesets.rss"), *program]
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[(ruleset, report)].append(time.perf_counter() - start)
        with open(os.path.join(work, "rulesets.rss")) as f:
            rss[(ruleset, report)] = max(rss[(ruleset, report)], int(f.read().split()[-1]))
print(f"bench: tree {tree}; {runs} paired runs; {os.cpu_count()} CPUs")
for report, label in (("sarif", "with the SARIF log"), ("none", "scan alone (--no-sarif)")):
    names = [ruleset for ruleset, r in kinds if r == report]
    median = {name: statistics.median(times[(name, report)]) for name in names}
    for name in names:
        print(f"bench: {label:24} {name:12} {median[name]:7.3f} s  peak RSS {rss[(name, report)]:7d} KB")
    for name in names:
        if name.startswith("old "):
            new = name[4:]
            print(f"bench: {label:24} wall-time ratio new/old {new} = {median[new] / median[name]:.3f}")
        elif name != "classic":
            print(f"bench: {label:24} wall-time ratio {name}/classic = {median[name] / median['classic']:.2f}")
    if "kingfisher" in median:
        print(f"bench: {label:24} wall-time ratio default/kingfisher = {median['default'] / median['kingfisher']:.2f}")
PY
