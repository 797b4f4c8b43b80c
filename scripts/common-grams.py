#!/usr/bin/env python3
"""Writes src/rules/prefilter/common-grams.txt: the four-byte pieces most common in source code
and text, ASCII case folded the way the keyword index folds them (every byte `| 0x20`). The
keyword index never picks one of them as a keyword's fingerprint when the keyword has a rarer
piece: a fingerprint like `type` (of `typetalk`) stops the search on nearly every line of code.

    scripts/common-grams.py ROOT... > src/rules/prefilter/common-grams.txt

The roots used: ~/.cargo/registry/src /usr/lib/python3.11 /usr/share/doc /usr/lib/node_modules
(Rust, Python, prose and JavaScript; a mix, so the list is not tuned to one benchmark tree).
Files are read in a fixed shuffled order, 64 KB of each, up to 40 MB; a gram counts once per
file it is in, so that one large generated file cannot fill the list with its own words."""
import collections
import os
import random
import sys

COUNT, PER_LINE, BUDGET = 4096, 10, 40_000_000
SUFFIXES = (".rs", ".py", ".md", ".txt", ".toml", ".json", ".yaml", ".yml", ".html", ".c", ".h", ".js")

files = sorted(
    os.path.join(folder, name)
    for root in sys.argv[1:]
    for folder, _, names in os.walk(root)
    for name in names
    if name.endswith(SUFFIXES)
)
random.Random(7).shuffle(files)
counts, total = collections.Counter(), 0
for path in files:
    try:
        with open(path, "rb") as file:
            data = bytes(byte | 0x20 for byte in file.read(65_536))
    except OSError:
        continue
    counts.update({data[at : at + 4] for at in range(len(data) - 3)})
    total += len(data)
    if total > BUDGET:
        break
# Printable ASCII only (what folding leaves of control bytes is printable too): one line of the
# file stays one line, and every gram reads as written.
# Ties in gram order: the same list whatever the hash seed of this run.
ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
grams = [gram for gram, _ in ranked if all(0x20 <= byte < 0x7F for byte in gram)][:COUNT]
print("# The four-byte pieces most common in code and text, case folded (every byte | 0x20), most")
print("# common first; each written in brackets. Made by scripts/common-grams.py: see there why.")
for at in range(0, len(grams), PER_LINE):
    print(" ".join(f"[{gram.decode()}]" for gram in grams[at : at + PER_LINE]))
