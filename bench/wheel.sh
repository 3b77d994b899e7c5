#!/usr/bin/env bash
# The timer wheel beside std's BinaryHeap: the criterion bench
# reactor/benches/wheel.rs (schedule+cancel and schedule+fire, per
# operation, with 10k, 100k and 1M timers pending), its figures extracted
# from criterion's output into the table.
#
#   bench/wheel.sh [--quick]
#
# Each figure: the median over criterion's samples of the time per
# operation, and the samples' spread (min..max). Criterion measures the
# wheel and the heap back to back for each size, in the same process; the
# bench runs pinned to one CPU. See the bench's own documentation for what
# one operation is (reactor/benches/wheel.rs).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need python3

SECTION="timer wheel: time per operation, N timers pending (criterion)"
crit=(--noplot)
[ "$BENCH_QUICK" = 1 ] && crit+=(--quick)

cd "$BENCH_ROOT"
cargo bench --quiet -p torsion --bench wheel --no-run 2>/dev/null
rm -rf target/criterion/schedule_cancel target/criterion/schedule_fire
bounded 600 "${PIN_CLIENT[@]}" cargo bench --quiet -p torsion --bench wheel -- "${crit[@]}" \
  >"$BENCH_OUT/wheel.log" 2>&1 || { cat "$BENCH_OUT/wheel.log" >&2; exit 1; }

python3 - "$BENCH_RESULTS" "$SECTION" <<'PY'
import json, pathlib, sys
results, section = sys.argv[1], sys.argv[2]
root = pathlib.Path("target/criterion")
names = {"schedule_cancel": "schedule+cancel", "schedule_fire": "schedule+fire"}
with open(results, "a", encoding="utf-8") as out:
    for group, label in names.items():
        for n in (10_000, 100_000, 1_000_000):
            per_side = []
            for side in ("wheel", "heap"):
                sample = json.loads((root / group / side / str(n) / "new" / "sample.json").read_text())
                per_side.append(" ".join(f"{t / i:.2f}" for t, i in zip(sample["times"], sample["iters"])))
            out.write(f"{section}\t{label}, {n:,} pending\tns/op\tlower\tBinaryHeap (lazy cancel)\t{per_side[0]}\t{per_side[1]}\n")
            print(f"wheel: {label} at {n}: done")
PY
