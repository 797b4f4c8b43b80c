#!/usr/bin/env bash
# Precision benchmark: anteater's default ruleset (and kingfisher, when installed) on twelve public
# repositories that hold no live secrets, at fixed commits.
#
#   bench/precision.sh GIT_DIR...
#
# Each GIT_DIR is a git directory (bare or a work tree's .git) of one of the repositories below;
# which one is found from the commit it holds. A git directory holding none of them is scanned at
# its HEAD, named after its path (/work/.mirror/owner+name/repo gives `name`); the commit used is
# printed for every repository, so add it to `known` to make the run reproducible. Each tree is
# laid out once (blob by blob) under bench/.work/precision/ and scanned with `anteater --ruleset
# default`. When `kingfisher` is on PATH (pip install kingfisher-bin) it scans the same trees in
# the same run, always with --no-validate and --no-update-check: nothing is sent anywhere.
#
# Prints findings per repository and rule (errors / warnings / notes), then the totals of both
# tools side by side. Set ANTEATER to use another binary, KINGFISHER=none to skip kingfisher,
# KINGFISHER_REUSE=1 to keep kingfisher's results of an earlier run (its trees do not change).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/.." && pwd)
work="$here/.work/precision"
mkdir -p "$work"

# name commit (the first six are issue 8's commits, the other six those of issue 19's run)
known="rails 2a2db1e8d6d104ee0611efcae7eb023af65cff34
terraform 883c7221ee2e0bc2fad6912fd4b3cc4b53a598a7
spring-boot c329ffa25dc160a90ebe5e4b006ad4cdf89d8683
prometheus d15adb9ad7e5d9fbde3a9a8f30200593a5a14d86
ansible c9ac477e53a99e95781f333eec3329a935c1bf95
aws-sdk-go 8d203ccff393340d080be0417d091cc60354449b
traefik fd5a576df2e8aeb0bfc8a96b6ef6e60a61f7ec0a
caddy 0cf03d32f7d99cf160d5375e8a40fbe3d910d515
laravel-framework bd71b45fbb7e672957bf6ff61baddefe15fbca6a
nomad aa026cc99cfb74a77e519a1c1f0c78ba1b452705
flask 2ac89889f4cc330eabd50f295dcef02828522c69
requests 1f6589ec3a1ee910f9a65cc3ceac60b26677bc0e"

[ $# -ge 1 ] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench: python3 is needed to summarise" >&2; exit 2; }

if [ -z "${ANTEATER:-}" ]; then
  echo "bench: building anteater (release)" >&2
  (cd "$repo_root" && cargo build --release --locked --quiet)
  ANTEATER="$repo_root/target/release/anteater"
fi
kingfisher=${KINGFISHER:-$(command -v kingfisher || true)}
[ "$kingfisher" = none ] && kingfisher=""

# Lay out each tree once (read from the git directory, which is never written to).
trees=()
for git_dir in "$@"; do
  [ -d "$git_dir" ] || { echo "bench: $git_dir is not a directory" >&2; exit 2; }
  found=""
  while read -r name commit; do
    if git --git-dir="$git_dir" cat-file -e "$commit^{commit}" 2>/dev/null; then
      found="$name $commit"
      break
    fi
  done <<<"$known"
  if [ -z "$found" ]; then
    # Not a benchmark commit: scan HEAD, named after the directory (…/owner+name/repo, …/name/.git).
    commit=$(git --git-dir="$git_dir" rev-parse --verify 'HEAD^{commit}' 2>/dev/null) ||
      { echo "bench: $git_dir holds none of the benchmark commits and no HEAD" >&2; exit 2; }
    base=$(cd "$git_dir" && pwd)
    case "$(basename "$base")" in repo | .git) base=$(dirname "$base") ;; esac
    base=$(basename "$base" .git)
    name=${base##*+}
    case "$name" in '' | *[!A-Za-z0-9._-]*) echo "bench: cannot name $git_dir" >&2; exit 2 ;; esac
    echo "bench: $git_dir holds none of the benchmark commits; scanning HEAD $commit as $name" >&2
    found="$name $commit"
  fi
  read -r name commit <<<"$found"
  echo "bench: $name at $commit" >&2
  tree="$work/$name-${commit:0:12}"
  if [ ! -f "$tree.complete" ]; then
    echo "bench: laying out $name at ${commit:0:12}" >&2
    rm -rf "$tree"
    mkdir -p "$tree"
    # Not `git archive`: a partial mirror may lack some large blobs, and archive stops at the
    # first. Blobs are written one by one and the missing ones are counted.
    python3 - "$git_dir" "$commit" "$tree" <<'PY'
import os, subprocess, sys
git_dir, commit, tree = sys.argv[1:]
git = ["git", f"--git-dir={git_dir}"]
listing = subprocess.run(git + ["ls-tree", "-r", "-z", commit], check=True, capture_output=True).stdout
entries = []
for record in listing.split(b"\0"):
    if not record:
        continue
    meta, path = record.split(b"\t", 1)
    mode, kind, sha = meta.split()
    if kind == b"blob":
        entries.append((mode, sha, os.fsdecode(path)))
batch = subprocess.Popen(git + ["cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
missing = 0
for mode, sha, path in entries:
    batch.stdin.write(sha + b"\n")
    batch.stdin.flush()
    header = batch.stdout.readline().split()
    if header[-1] == b"missing":
        missing += 1
        continue
    data = batch.stdout.read(int(header[2]))
    batch.stdout.read(1)
    target = os.path.join(tree, path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if mode == b"120000":
        os.symlink(os.fsdecode(data), target)
    else:
        with open(target, "wb") as out:
            out.write(data)
batch.stdin.close()
batch.wait()
print(f"bench: {len(entries)} files, {missing} missing from the git directory", file=sys.stderr)
PY
    touch "$tree.complete"
  fi
  trees+=("$name=$commit=$tree")
done

# Run from an empty directory, so no ./anteater.conf is picked up.
cwd=$(mktemp -d)
trap 'rm -rf "$cwd"' EXIT
for entry in "${trees[@]}"; do
  name=${entry%%=*}
  tree=${entry#*=*=}
  echo "bench: anteater on $name" >&2
  status=0
  (cd "$cwd" && "$ANTEATER" --path "$tree" --ruleset default --fail-on never --format json \
    --sarif "$work/$name.sarif" >"$work/$name.anteater.json" 2>"$work/$name.anteater.log") || status=$?
  [ "$status" -eq 0 ] || { echo "bench: anteater failed on $name (exit $status):" >&2; tail -5 "$work/$name.anteater.log" >&2; exit 2; }
  if [ -n "$kingfisher" ] && [ -n "${KINGFISHER_REUSE:-}" ] && [ -s "$work/$name.kingfisher.json" ]; then
    echo "bench: kingfisher on $name: reusing $work/$name.kingfisher.json" >&2
  elif [ -n "$kingfisher" ]; then
    echo "bench: kingfisher on $name (no validation)" >&2
    "$kingfisher" scan "$tree" --no-validate --no-update-check --git-history none --quiet \
      --format json --output "$work/$name.kingfisher.json" >/dev/null 2>"$work/$name.kingfisher.log" || true
  else
    rm -f "$work/$name.kingfisher.json"
  fi
done

python3 - "$work" "${trees[@]}" <<'PY'
import collections, json, os, sys

work, entries = sys.argv[1], sys.argv[2:]
names = [entry.split("=", 2)[0] for entry in entries]
commits = {entry.split("=", 2)[0]: entry.split("=", 2)[1] for entry in entries}

def anteater(name):
    """{rule: Counter(level)} of one SARIF log."""
    log = json.load(open(os.path.join(work, f"{name}.sarif")))
    counts = collections.defaultdict(collections.Counter)
    for result in log["runs"][0]["results"]:
        counts[result["ruleId"]][result.get("level", "warning")] += 1
    return counts

def kingfisher(name):
    """{rule: count}, or None when kingfisher did not run."""
    path = os.path.join(work, f"{name}.kingfisher.json")
    if not os.path.exists(path):
        return None
    text = open(path).read().strip()
    if not text:
        return collections.Counter()
    data = json.loads(text)
    findings = data.get("findings", data) if isinstance(data, dict) else data
    counts = collections.Counter()
    for finding in findings:
        rule = finding.get("rule", {})
        counts[rule.get("id") or rule.get("name") or "?"] += 1
    return counts

totals = []
for name in names:
    counts = anteater(name)
    kf = kingfisher(name)
    print(f"\n== {name} at {commits[name]}")
    print(f"   {'anteater rule':44} {'error':>6} {'warn':>6} {'note':>6}")
    for rule, levels in sorted(counts.items(), key=lambda kv: -sum(kv[1].values())):
        print(f"   {rule:44} {levels['error']:6} {levels['warning']:6} {levels['note']:6}")
    if kf:
        print(f"   {'kingfisher rule':44} {'count':>6}")
        for rule, count in kf.most_common():
            print(f"   {rule:44} {count:6}")
    level = lambda l: sum(c[l] for c in counts.values())
    totals.append((name, level("error"), level("warning"), level("note"),
                   None if kf is None else sum(kf.values())))

print(f"\n{'repository':18} {'commit':12} {'anteater error':>15} {'warning':>8} {'note':>6} {'kingfisher':>11}")
for name, error, warning, note, kf in totals:
    print(f"{name:18} {commits[name][:12]:12} {error:15} {warning:8} {note:6} "
          f"{('-' if kf is None else kf):>11}")
sum_or_dash = lambda values: "-" if any(v is None for v in values) else sum(values)
print(f"{'total':18} {'':12} {sum(t[1] for t in totals):15} {sum(t[2] for t in totals):8} "
      f"{sum(t[3] for t in totals):6} {sum_or_dash([t[4] for t in totals]):>11}")
PY
