#!/usr/bin/env bash
# Proves the pre-commit hook that needs no Rust toolchain (pre-commit-mirror/): pre-commit from
# PyPI, in a throwaway virtualenv, installs the hook from a git repository made of that folder
# into a throwaway project, with no cargo or rustc on PATH; the anteater wheel comes from the
# one scripts/test-wheel.sh built (PIP_FIND_LINKS: it is not on PyPI yet). A real `git commit`
# then passes with a clean change and is refused with a staged key (redacted in the output).
# Times the first hook run (hook install included; the goal: under 30 s on a warm machine) and
# checks that the hook left no build folder in pre-commit's cache.
#
#   scripts/test-pre-commit.sh
# Environment: WHEEL_DIR=DIR holding the anteater wheel (otherwise scripts/test-wheel.sh builds
#   one first).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

PRE_COMMIT_VERSION=4.7.0

for tool in python3 git; do
  command -v "$tool" >/dev/null || { echo "test-pre-commit: $tool is missing" >&2; exit 1; }
done

# shellcheck source=/dev/null # scripts/lib/checks.sh: ok, not_ok, check, now_ms, seconds, rustless_path
. scripts/lib/checks.sh # the working folder is the repository
failures=0

work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

wheels=${WHEEL_DIR:-}
if [ -z "$wheels" ]; then
  wheels=$work/wheels
  WHEEL_DIR=$wheels scripts/test-wheel.sh >"$work/test-wheel.log" 2>&1 || {
    tail -20 "$work/test-wheel.log" >&2
    echo "test-pre-commit: scripts/test-wheel.sh failed" >&2
    exit 1
  }
fi
ls "$wheels"/anteater-*.whl >/dev/null || { echo "test-pre-commit: no anteater wheel in $wheels" >&2; exit 1; }

echo "== pre-commit $PRE_COMMIT_VERSION from PyPI, in a throwaway virtualenv"
python3 -m venv "$work/tools"
"$work/tools/bin/pip" install --quiet --disable-pip-version-check "pre-commit==$PRE_COMMIT_VERSION"

# The hook repository: pre-commit-mirror/ as it is published, one commit.
hooks=$work/anteater-pre-commit
cp -r pre-commit-mirror "$hooks"
git -C "$hooks" init -q
git -C "$hooks" add -A
git -C "$hooks" -c user.name=ci -c user.email=ci@example.invalid commit -q -m hook
rev=$(git -C "$hooks" rev-parse HEAD)

# The user's project, with the hook configured as its README says.
project=$work/project
mkdir -p "$project"
git -C "$project" init -q
git -C "$project" config user.name ci
git -C "$project" config user.email ci@example.invalid
cat >"$project/.pre-commit-config.yaml" <<EOF
repos:
  - repo: $hooks
    rev: $rev
    hooks:
      - id: anteater
EOF

# PATH: the pre-commit virtualenv and the system folders that hold no cargo or rustc.
path=$work/tools/bin:$(rustless_path)
export PATH=$path PRE_COMMIT_HOME=$work/cache PIP_FIND_LINKS=$wheels PIP_DISABLE_PIP_VERSION_CHECK=1
unset CARGO_HOME RUSTUP_HOME VIRTUAL_ENV
check "no cargo on PATH" bash -c '! command -v cargo'
check "no rustc on PATH" bash -c '! command -v rustc'
check "no anteater on PATH before the hook installs it" bash -c '! command -v anteater'

cd "$project"
pre-commit install >/dev/null

echo "== a clean change is committed (the first run installs the hook)"
printf 'print("hello")\n' >hello.py
git add .pre-commit-config.yaml hello.py
t=$(now_ms)
set +e
git commit -q -m clean >"$work/clean.out" 2>&1
rc=$?
set -e
first_ms=$(($(now_ms) - t))
check "clean change: git commit exit code $rc, expected 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/    | /' "$work/clean.out" >&2
check "clean change: the hook ran and passed" grep -q '^anteater.*Passed' "$work/clean.out"
check "clean change: committed" test "$(git rev-list --count HEAD 2>/dev/null)" = 1

echo "== a staged key is refused"
mkdir -p ci
echo 'aws_access_key_id = AKIAQ3TZ7VK2MXWJ4RNA' >ci/deploy.sh # fake-secret-for-tests
git add ci/deploy.sh
set +e
git commit -q -m leak >"$work/leak.out" 2>&1
rc=$?
set -e
check "staged key: git commit exit code $rc, expected 1" test "$rc" -eq 1
check "staged key: the hook failed" grep -q '^anteater.*Failed' "$work/leak.out"
check "staged key: the finding names the file" grep -q 'ci/deploy.sh' "$work/leak.out"
check "staged key: the key is redacted in the output" bash -c "! grep -q AKIAQ3TZ7VK2MXWJ4RNA '$work/leak.out'" # fake-secret-for-tests
check "staged key: nothing committed" test "$(git rev-list --count HEAD)" = 1
[ "$rc" -eq 1 ] || sed 's/^/    | /' "$work/leak.out" >&2
check "no SARIF log left in the project" test ! -e anteater.sarif
cd "$repo"

echo "== what the hook left in pre-commit's cache"
cache_kib=$(du -sk "$work/cache" | cut -f1)
echo "pre-commit cache: $((cache_kib / 1024)) MiB"
# At the top of the hook repository's clone, where a build would leave its folder.
check "no build folder in the cache (target/, build/, *.egg-info/)" \
  test -z "$(find "$work/cache" -mindepth 2 -maxdepth 2 -type d \( -name target -o -name build -o -name '*.egg-info' \) -print -quit)"
echo "[time] first hook run, hook install included: ${first_ms} ms"
check "first hook run under 30 s (${first_ms} ms)" test "$first_ms" -lt 30000

echo
if [ "$failures" -ne 0 ]; then
  echo "PRE-COMMIT PROOF FAILED: $failures check(s)" >&2
  exit 1
fi
echo "PRE-COMMIT PROOF PASSED"
