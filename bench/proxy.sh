#!/usr/bin/env bash
# torsion-proxy beside the seeds' Twisted proxy (issue 11, benchmarks item 5).
#
#   bench/proxy.sh [--quick]
#
# PENDING: torsion-proxy is not built yet. Until servers/src/bin/torsion-proxy.rs
# exists this script records a "pending" line and exits 0. When it lands,
# this is the place for:
#
# 1. The seeds' four-URL table: a timing client asks the proxy for four URLs
#    at once, served by a local origin that answers each after a fixed delay
#    (0.49 s, 0.85 s, 1.00 s, 1.58 s, the seeds' figures), so the total should
#    be the slowest fetch, not the sum. Beside the seeds' proxy2.py on Twisted.
# 2. 1,000 concurrent slow fetches: 1,000 clients at once, each URL served
#    slowly by the local origin; figures: completion time, the proxy's RSS
#    per fetch in flight, its CPU per fetch. Beside Twisted.
# All traffic stays on 127.0.0.1 (the origin is a local program).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SECTION="proxy: torsion-proxy (issue 11, item 5)"

if [ ! -f "$BENCH_ROOT/servers/src/bin/torsion-proxy.rs" ]; then
  echo "proxy: skipped: torsion-proxy does not exist yet (servers/src/bin/torsion-proxy.rs); see bench/RESULTS.md, 'torsion-proxy: pending'"
  record "$SECTION" "pending: torsion-proxy not built yet" "-" lower "proxy2.py (Twisted)" "" ""
  exit 0
fi

echo "proxy: torsion-proxy exists, but its benchmark is not written yet: fill in bench/proxy.sh (see the header)" >&2
record "$SECTION" "pending: benchmark not written yet" "-" lower "proxy2.py (Twisted)" "" ""
