#!/usr/bin/env bash
# VirusTotal at fleet scale, measured against the project's VirusTotal mock and a real
# redis-server (both started by the test harness):
#  - concurrency: 3 anteater processes on one tree and one Redis vs one job alone
#    (requests at the mock, duplicate uploads, 429 answers);
#  - pipelining: 500 unique indicators at --vt-rate 6000/1m with 200 ms per request, against
#    the one-at-a-time lower bound.
# Usage: bench/vt-fleet.sh   (needs redis-server on PATH; takes about 20 s after the build)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --test cli vt_fleet::bench_vt_fleet -- --ignored --nocapture --exact 2>&1 \
  | grep -E '^(concurrency|pipelining|  (one|3 jobs|requests))'
