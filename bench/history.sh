#!/usr/bin/env bash
# History mode cost, side by side with kingfisher on the same repository and the same commits:
#   (a) a 200-commit pull-request range (`--diff BASE..HEAD`),
#   (b) the whole history of HEAD (`--history`).
#
#   bench/history.sh [GIT_DIR]
#
# GIT_DIR is a git repository (bare is fine) with 10,000 commits or more [default: the
# prometheus mirror]. It is cloned with --shared --no-checkout into a temporary folder and never
# modified. kingfisher runs with -n (no validation, no network), on the same HEAD and range;
# install it with `pip install kingfisher-bin` (KINGFISHER=path/to/kingfisher to choose one).
# Each timing is the median of RUNS=3 runs; both tools use every core.
#
# ANTEATER=PATH uses that binary instead of building one. ANTEATER_OLD=PATH adds "did this change
# cost speed?": the old and the new binary run in alternation on the same range and history,
# with the ratio new/old of each.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/.." && pwd)
source=${1:-/work/.mirror/prometheus+prometheus/repo}
runs=${RUNS:-3}
kingfisher=${KINGFISHER:-$(command -v kingfisher || true)}

if [ -z "${ANTEATER:-}" ]; then
  (cd "$repo_root" && cargo build --release --locked --quiet)
  ANTEATER="$repo_root/target/release/anteater"
fi
anteater=$ANTEATER

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
git clone -q --shared --no-checkout "$source" "$work/repo"
repo="$work/repo"
commits=$(git -C "$repo" rev-list --count HEAD)
# The pull request: from the 201st newest commit of HEAD (merged side branches may add a few).
base=$(git -C "$repo" rev-list HEAD | sed -n 201p)
pr_commits=$(git -C "$repo" rev-list --count "$base..HEAD")

# median COMMAND...: the median wall time over $runs runs.
. "$here/lib.sh"
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }
count() { python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['runs'][0]['results']))" "$1"; }

echo "bench: $source: $commits commits at HEAD; pull request $base..HEAD: $pr_commits commits; $runs runs, $(nproc) cores"

a_pr=$(median "$anteater" --path "$repo" --diff "$base..HEAD" --fail-on never --sarif "$work/pr.sarif")
a_full=$(median "$anteater" --path "$repo" --history --fail-on never --sarif "$work/full.sarif")
echo "bench: anteater  pull request ${a_pr} s ($(count "$work/pr.sarif") findings)"
echo "bench: anteater  full history ${a_full} s ($(count "$work/full.sarif") findings)"

if [ -n "${ANTEATER_OLD:-}" ]; then
  read -r o n r < <(paired "$ANTEATER_OLD" "$anteater" --path "$repo" --diff "$base..HEAD" --fail-on never --no-sarif)
  echo "bench: old/new anteater  pull request ${o} s / ${n} s, new/old ${r}"
  read -r o n r < <(paired "$ANTEATER_OLD" "$anteater" --path "$repo" --history --fail-on never --no-sarif)
  echo "bench: old/new anteater  full history ${o} s / ${n} s, new/old ${r}"
fi

if [ -n "$kingfisher" ]; then
  kf=("$kingfisher" scan "$repo" -n --no-update-check --branch HEAD --format json -o /dev/null)
  k_pr=$(median "${kf[@]}" --git-history full --since-commit "$base")
  k_full=$(median "${kf[@]}" --git-history full)
  echo "bench: kingfisher pull request ${k_pr} s"
  echo "bench: kingfisher full history ${k_full} s"
  echo "bench: anteater / kingfisher: pull request $(ratio "$a_pr" "$k_pr"), full history $(ratio "$a_full" "$k_full")"
else
  echo "bench: kingfisher not installed (pip install kingfisher-bin): no comparison"
fi
