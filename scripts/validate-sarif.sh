#!/usr/bin/env bash
# Validates SARIF logs offline with Microsoft's SARIF Multitool, against the SARIF 2.1.0 schema
# and GitHub code scanning's ingestion rules (--rule-kind 'Sarif;Gh'). Fails when the validator
# reports any result of level `error`.
#
#   scripts/validate-sarif.sh FILE.sarif...
#
# The Multitool is installed from npm into .ci/tools on first use.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 FILE.sarif..." >&2
  exit 2
fi

here=$(cd "$(dirname "$0")/.." && pwd)
tools="$here/.ci/tools"
multitool="$tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
if [ ! -x "$multitool" ]; then
  mkdir -p "$tools"
  (cd "$tools" && npm install --no-save --no-audit --no-fund --loglevel=error @microsoft/sarif-multitool >/dev/null)
  # npm may not keep the executable bit of the native binary.
  chmod u+x "$multitool"
fi

report_dir=$(mktemp -d)
trap 'rm -rf "$report_dir"' EXIT
report=$report_dir/validation.sarif
# The npx wrapper would split the ';' of the rule kinds, so the native binary is run directly.
if ! "$multitool" validate "$@" --rule-kind 'Sarif;Gh' -o "$report" >"$report.log" 2>&1; then
  cat "$report.log" >&2
  echo "validate-sarif: the Multitool itself failed" >&2
  exit 1
fi

python3 - "$report" "$#" <<'PY'
import json, sys
report, count = sys.argv[1], sys.argv[2]
log = json.load(open(report))
errors, warnings = [], 0
for run in log.get("runs", []):
    for result in run.get("results", []):
        level = result.get("level", "warning")
        text = result.get("message", {}).get("text") or result.get("message", {}).get("id", "")
        where = result.get("locations", [{}])[0].get("physicalLocation", {}).get("artifactLocation", {}).get("uri", "?")
        if level == "error":
            errors.append(f"{where}: {result.get('ruleId')}: {text}")
        elif level == "warning":
            warnings += 1
for line in errors:
    print("validate-sarif: error:", line, file=sys.stderr)
print(f"validate-sarif: {count} files, {len(errors)} errors, {warnings} warnings")
sys.exit(1 if errors else 0)
PY
