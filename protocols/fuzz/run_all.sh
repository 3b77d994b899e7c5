#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60), one after the
# other, and prints a table of targets, seconds, runs and outcome: the
# figures docs/hardening.md records. Needs a nightly toolchain and
# cargo-fuzz (see docs/protocols.md). Crashes land in artifacts/<target>/.
#
#   protocols/fuzz/run_all.sh [SECONDS] [TARGET...]
set -u
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build -O >/dev/null 2>&1 || { echo "cargo fuzz build failed" >&2; exit 2; }
mkdir -p target/logs
printf '| target | seconds | runs | runs/s | corpus | outcome |\n|---|---|---|---|---|---|\n'
status=0
for t in "${targets[@]}"; do
    log=target/logs/$t.log
    start=$(date +%s)
    if cargo +nightly fuzz run -O "$t" -- -max_total_time="$seconds" -max_len=4096 >"$log" 2>&1; then
        outcome=ok
    else
        outcome="CRASH (see $log)"
        status=1
    fi
    took=$(( $(date +%s) - start ))
    runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1 | grep -o '[0-9]*')
    [ -z "$runs" ] && runs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    corpus=$(ls "corpus/$t" 2>/dev/null | wc -l)
    rate=$(( ${runs:-0} / (seconds > 0 ? seconds : 1) ))
    printf '| %s | %s | %s | %s | %s | %s |\n' "$t" "$took" "${runs:-?}" "$rate" "$corpus" "$outcome"
done
exit $status
