#!/usr/bin/env bash
# Recall and false alarms on the peers' own published examples (issue 19), anteater's default
# ruleset against kingfisher's, each example in its own file.
#
#   bench/providers.sh GITLEAKS_GIT_DIR TRUFFLEHOG_GIT_DIR
#
# Fetches nothing: give it git directories of gitleaks and trufflehog (a clone's .git, or a bare
# mirror). It reads their HEAD with `git show`, extracts the string literals listed in gitleaks'
# rule definitions (cmd/generate/config/rules/*.go: `tps` are positives, `fps` negatives; the
# generated ones, built by Go code, cannot be read and are left out, and so is a literal joined
# to Go code by `+`: a piece of an example completed at run time) and trufflehog's detector
# tests (pkg/detectors/*/*_test.go: `valid…` constants are positives, `invalid…` negatives),
# writes each to its own file under bench/.work/providers/, scans the four sets with anteater
# (and kingfisher when it is on PATH: pip install kingfisher-bin; always run with -n
# --no-update-check) and prints the table of the issue. A finding by a rule in GENERIC below
# (password and assignment rules) counts as found, not as found by a provider-specific rule.
# Set ANTEATER to use another binary, KINGFISHER=none to skip kingfisher.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/.." && pwd)
[ $# -eq 2 ] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
for dir in "$1" "$2"; do
  git --git-dir="$dir" rev-parse --verify -q HEAD >/dev/null ||
    { echo "bench: $dir is not a git directory with a HEAD" >&2; exit 2; }
done
gitleaks=$(cd "$1" && pwd)
trufflehog=$(cd "$2" && pwd)
command -v python3 >/dev/null || { echo "bench: python3 is needed" >&2; exit 2; }
if [ -z "${ANTEATER:-}" ]; then
  echo "bench: building anteater (release)" >&2
  (cd "$repo_root" && cargo build --release --locked --quiet)
  ANTEATER="$repo_root/target/release/anteater"
fi
kingfisher=${KINGFISHER:-$(command -v kingfisher || true)}
[ "$kingfisher" = none ] && kingfisher=""

work="$here/.work/providers"
# Only ever remove the folder this script owns.
case "$work" in */bench/.work/providers) rm -rf "$work" ;; *) exit 2 ;; esac
mkdir -p "$work"

python3 - "$gitleaks" "$trufflehog" "$work" <<'PY'
import os, re, subprocess, sys

gitleaks, trufflehog, work = sys.argv[1:4]

def git(git_dir, *args):
    return subprocess.run(["git", "--git-dir", git_dir, *args], check=True,
                          capture_output=True).stdout.decode("utf-8", "replace")

def concatenated(text, start, end):
    """Whether the literal text[start:end] is an operand of `+`: a piece of an example that Go
    code completes at run time (`"TELEGRAM_API_TOKEN = " + token`), with nothing to find alone."""
    before = text[:start].rstrip()
    after = text[end:].lstrip()
    return before.endswith("+") or after.startswith("+")

def go_strings(text):
    """Go string literals at the top level of `text` (not inside a call's parentheses)."""
    out, depth, i = [], 0, 0
    while i < len(text):
        c = text[i]
        if c == "/" and text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
            continue
        if c == "'":
            i = text.index("'", i + 2) + 1
            continue
        if c in "([{":
            depth += c == "("
        elif c in ")]}":
            depth -= c == ")"
        elif c == "`":
            end = text.index("`", i + 1)
            if depth == 0 and not concatenated(text, i, end + 1):
                out.append(text[i + 1:end])
            i = end + 1
            continue
        elif c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if depth == 0 and not concatenated(text, i, j + 1):
                try:
                    out.append(bytes(text[i + 1:j], "utf-8").decode("unicode_escape")
                               .encode("latin-1").decode("utf-8"))
                except (UnicodeDecodeError, UnicodeEncodeError):
                    out.append(text[i + 1:j])
            i = j + 1
            continue
        i += 1
    return out

def block(text, start):
    """The text between the brace opening at or after `start` and its match."""
    open_at = text.index("{", start)
    depth, i = 0, open_at
    while i < len(text):
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
        elif c == "'":
            i = text.index("'", i + 2)
        elif c == "`":
            i = text.index("`", i + 1)
        elif c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1:i]
        i += 1
    return ""

def skip_literal(text, i):
    """The index after the string, rune or comment starting at `i`, or `i` + 1."""
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    c = text[i]
    if c == "`":
        return text.index("`", i + 1) + 1
    if c in "\"'":
        j = i + 1
        while text[j] != c:
            j += 2 if text[j] == "\\" else 1
        return j + 1
    return i + 1

def extract_gitleaks(text):
    """[(kind, examples)] of one rule file: the literals of `tps` and `fps`."""
    out = []
    for kind, name in (("gitleaks-pos", "tps"), ("gitleaks-neg", "fps")):
        examples = []
        for m in re.finditer(rf"\b{name}\s*(?::=|=)\s*(?:\[\]string\{{|append\({name},)", text):
            if m.group(0).endswith("{"):
                examples += go_strings(block(text, m.end() - 1))
            else:
                # append(tps, a, b, ...): the literals up to the closing parenthesis.
                depth, i = 1, m.end()
                while depth and i < len(text):
                    if text[i] == "(":
                        depth += 1
                    elif text[i] == ")":
                        depth -= 1
                    i = skip_literal(text, i) if depth else i + 1
                examples += go_strings(text[m.end():i - 1])
        out.append((kind, [e for e in examples if len(e.strip()) >= 8]))
    return out

def write(kind, family, examples):
    folder = os.path.join(work, kind)
    os.makedirs(folder, exist_ok=True)
    for n, example in enumerate(examples):
        with open(os.path.join(folder, f"{family}-{n}.txt"), "w") as f:
            f.write(example + "\n")

counts = {}
rules_dir = "cmd/generate/config/rules/"
for path in git(gitleaks, "ls-tree", "--name-only", "HEAD", rules_dir).split():
    if not path.endswith(".go"):
        continue
    text = git(gitleaks, "show", f"HEAD:{path}")
    family = os.path.basename(path)[:-3]
    try:
        extracted = extract_gitleaks(text)
    except ValueError:
        print(f"bench: cannot read the examples of {path}; left out", file=sys.stderr)
        continue
    for kind, examples in extracted:
        write(kind, family, examples)
        counts[kind] = counts.get(kind, 0) + len(examples)

for path in git(trufflehog, "ls-tree", "-r", "--name-only", "HEAD", "pkg/detectors/").split():
    if not path.endswith("_test.go") or path.endswith("_integration_test.go"):
        continue
    text = git(trufflehog, "show", f"HEAD:{path}")
    family = path.split("/")[-2]
    for kind, prefix in (("trufflehog-pos", "valid"), ("trufflehog-neg", "invalid")):
        examples = []
        for m in re.finditer(r"(?m)^\s*(\w+)\s*=\s*(`[^`]*`|\"(?:[^\"\\\n]|\\.)*\")", text):
            name, literal = m.group(1), m.group(2)
            if not name.lower().startswith(prefix):
                continue
            examples.append(literal[1:-1] if literal[0] == "`" else go_strings(literal)[0])
        examples = [e for e in examples if len(e.strip()) >= 8]
        write(kind, family, examples)
        counts[kind] = counts.get(kind, 0) + len(examples)
print("bench: examples extracted: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
      file=sys.stderr)
PY

# Run from an empty directory, so no ./anteater.conf is picked up.
cwd=$(mktemp -d)
trap 'rm -rf "$cwd"' EXIT
for set in gitleaks-pos gitleaks-neg trufflehog-pos trufflehog-neg; do
  echo "bench: anteater on $set" >&2
  (cd "$cwd" && "$ANTEATER" --path "$work/$set" --ruleset default --fail-on never --format json \
    --no-sarif --no-test-demotion >"$work/$set.anteater.json" 2>"$work/$set.anteater.log") ||
    { echo "bench: anteater failed on $set" >&2; tail -5 "$work/$set.anteater.log" >&2; exit 2; }
  if [ -n "$kingfisher" ]; then
    echo "bench: kingfisher on $set" >&2
    "$kingfisher" scan "$work/$set" -n --no-update-check --git-history none --quiet \
      --format json --output "$work/$set.kingfisher.json" >/dev/null 2>"$work/$set.kingfisher.log" || true
  fi
done

python3 - "$work" <<'PY'
import json, os, re, sys

work = sys.argv[1]
# anteater's password and assignment rules: a hit by one of them is found, not found by a
# provider-specific rule. kingfisher's are the rules with `generic` in their id.
GENERIC = re.compile(r"^(?:hardcoded-password|config-password|generic-secret-assignment|"
                     r"credentials-in-url|connection-string-password|authorization-header|"
                     r"terraform-variable-default|k8s-.*|docker-config-auth|file-name-.*)$")

def anteater(kind):
    data = json.load(open(os.path.join(work, f"{kind}.anteater.json")))
    hits = {}
    for f in data["findings"]:
        hits.setdefault(os.path.basename(f["path"]), set()).add(f["rule_id"])
    return {name: any(not GENERIC.match(r) for r in rules) for name, rules in hits.items()}

def paths_in(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "path" and isinstance(inner, str):
                yield inner
            else:
                yield from paths_in(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from paths_in(inner)

def kingfisher(kind):
    path = os.path.join(work, f"{kind}.kingfisher.json")
    if not os.path.exists(path):
        return None
    text = open(path).read().strip()
    if not text:
        return {}
    data = json.loads(text)
    findings = data.get("findings", data) if isinstance(data, dict) else data
    hits = {}
    for finding in findings:
        rule = finding.get("rule", {})
        rule_id = str(rule.get("id") or rule.get("name") or "?")
        specific = "generic" not in rule_id.lower()
        for p in set(paths_in(finding)):
            name = os.path.basename(p)
            hits[name] = hits.get(name, False) or specific
    return hits

def total(kind):
    return len(os.listdir(os.path.join(work, kind)))

def pct(n, d):
    return f"{100 * n / d:.0f} % ({n}/{d})" if d else "-"

rows = [("gitleaks positives found", "gitleaks-pos", False),
        ("… found by a provider-specific rule", "gitleaks-pos", True),
        ("trufflehog positives found", "trufflehog-pos", False),
        ("trufflehog positives found by a provider-specific rule", "trufflehog-pos", True),
        ("gitleaks negatives flagged", "gitleaks-neg", False),
        ("trufflehog negatives flagged", "trufflehog-neg", False)]
print("| | anteater | kingfisher |\n|---|---|---|")
for label, kind, specific in rows:
    cells = []
    for hits in (anteater(kind), kingfisher(kind)):
        if hits is None:
            cells.append("-")
            continue
        n = sum(1 for v in hits.values() if v or not specific)
        cells.append(pct(n, total(kind)))
    print(f"| {label} | {cells[0]} | {cells[1]} |")
PY
