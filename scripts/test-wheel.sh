#!/usr/bin/env bash
# Proves that anteater installs without Rust: builds the Python wheel (pyproject.toml, maturin
# with `bindings = "bin"`) and installs it into a fresh virtualenv with no cargo or rustc on
# PATH, then runs `anteater --version` and real scans: a planted key must fail the gate (exit 1,
# the key redacted in the output), a clean tree must pass (exit 0). Times the install and the
# first run (the goal: under 30 s together on a warm machine).
#
# maturin comes from PyPI into a throwaway virtualenv, pinned. The wheel is built from the
# release profile (`cargo build --release` artefacts are reused when they are warm).
#
#   scripts/test-wheel.sh
# Environment: WHEEL_DIR=DIR keeps the built wheel in DIR (scripts/test-pre-commit.sh installs
#   it from there); otherwise it goes with the script's temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

MATURIN_VERSION=1.16.0

for tool in python3 cargo; do
  command -v "$tool" >/dev/null || { echo "test-wheel: $tool is missing" >&2; exit 1; }
done

# shellcheck source=/dev/null # scripts/lib/checks.sh: ok, not_ok, check, now_ms, seconds, rustless_path
. scripts/lib/checks.sh # the working folder is the repository
failures=0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
wheels=${WHEEL_DIR:-$work/wheels}
mkdir -p "$wheels"
rm -f "$wheels"/anteater-*.whl

echo "== building the wheel (maturin $MATURIN_VERSION from PyPI, in a throwaway virtualenv)"
t=$(now_ms)
python3 -m venv "$work/build-tools"
"$work/build-tools/bin/pip" install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION"
"$work/build-tools/bin/maturin" build --release --locked --out "$wheels"
echo "[time] wheel built in $(seconds "$t")s"
shopt -s nullglob
built=("$wheels"/anteater-*.whl)
shopt -u nullglob
if [ "${#built[@]}" -ne 1 ]; then
  echo "test-wheel: expected one wheel in $wheels, found ${#built[@]}" >&2
  exit 1
fi
wheel=${built[0]}
echo "wheel: ${wheel##*/} ($(du -k "$wheel" | cut -f1) KiB)"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
case "${wheel##*/}" in "anteater-$version-"*) ok "the wheel carries Cargo.toml's version $version" ;; *) not_ok "the wheel ${wheel##*/} does not carry Cargo.toml's version $version" ;; esac
check "the wheel holds the binary and no Python code" python3 - "$wheel" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
binaries = [n for n in names if n.endswith(".data/scripts/anteater")]
python = [n for n in names if n.endswith(".py")]
print(f"    {len(names)} files; binary: {binaries}; python files: {python}")
sys.exit(0 if len(binaries) == 1 and not python else 1)
EOF

echo "== installing it where there is no Rust toolchain"
# PATH keeps only the system folders that hold no cargo or rustc (~/.cargo/bin is left out).
path=$(rustless_path)
python=$(command -v python3)
venv=$work/user-venv
"$python" -m venv "$venv"
export PATH=$venv/bin:$path
unset CARGO_HOME RUSTUP_HOME
check "no cargo on PATH" bash -c '! command -v cargo'
check "no rustc on PATH" bash -c '! command -v rustc'

t=$(now_ms)
# --no-index: the wheel is the only place anteater can come from (it is not on PyPI).
pip install --quiet --disable-pip-version-check --no-index --find-links "$wheels" anteater
install_s=$(seconds "$t")
check "anteater is installed into the virtualenv ($(command -v anteater || echo none))" test "$(command -v anteater)" = "$venv/bin/anteater"

t=$(now_ms)
got=$(anteater --version)
first_run_s=$(seconds "$t")
check "anteater --version says $version ($got)" test "$got" = "anteater $version"

mkdir -p "$work/leaky/ci" "$work/clean"
echo 'aws_access_key_id = AKIAQ3TZ7VK2MXWJ4RNA' >"$work/leaky/ci/deploy.sh" # fake-secret-for-tests
printf 'print("hello")\n' >"$work/clean/hello.py"
cp README.md "$work/clean/"

set +e
t=$(now_ms)
(cd "$work/leaky" && anteater --no-sarif --path .) >"$work/leaky.out" 2>&1
rc=$?
first_scan_s=$(seconds "$t")
set -e
check "a planted key fails the gate: exit code $rc, expected 1" test "$rc" -eq 1
check "the finding names the file" grep -q 'ci/deploy.sh' "$work/leaky.out"
check "the key is redacted in the output" bash -c "! grep -q AKIAQ3TZ7VK2MXWJ4RNA '$work/leaky.out'" # fake-secret-for-tests
[ "$rc" -eq 1 ] || sed 's/^/    | /' "$work/leaky.out" >&2

set +e
(cd "$work/clean" && anteater --no-sarif --path .) >"$work/clean.out" 2>&1
rc=$?
set -e
check "a clean tree passes: exit code $rc, expected 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/    | /' "$work/clean.out" >&2

echo "[time] wheel install ${install_s}s + first run (--version) ${first_run_s}s + first scan ${first_scan_s}s"
total_ms=$(python3 -c "print(int(($install_s + $first_run_s + $first_scan_s) * 1000))")
check "install, first run and first scan under 30 s (${total_ms} ms)" test "$total_ms" -lt 30000
cd "$repo"

echo
if [ "$failures" -ne 0 ]; then
  echo "WHEEL PROOF FAILED: $failures check(s)" >&2
  exit 1
fi
echo "WHEEL PROOF PASSED"
