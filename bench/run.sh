#!/usr/bin/env bash
# Runs every benchmark and prints one table: each Torsion figure beside the
# same figure for its reference, measured in the same run, alternating,
# several rounds, median and spread (min..max).
#
#   bench/run.sh            # the full run (about 8 minutes on 2 CPUs)
#   bench/run.sh --quick    # fewer, shorter rounds (about 2 minutes)
#   bench/run.sh memory echo    # only some sections, in the order given
#
# Sections: memcached (throughput, CPU and system calls per request),
# memory (idle connections, items), wheel (timer wheel vs BinaryHeap),
# echo (reactor vs Twisted vs plain mio), proxy (torsion-proxy vs the seeds'
# proxy2.py and proxy1.py on Twisted).
# The table is also written, in Markdown, to bench/out/results.md, with the
# machine it ran on; the raw figures are in bench/out/results.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=() sections=()
for arg in "$@"; do
  case $arg in
    --quick) quick=(--quick) ;;
    memcached|memory|wheel|echo|proxy) sections+=("$arg") ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
[ ${#sections[@]} -gt 0 ] || sections=(memcached memory wheel echo proxy)

mkdir -p bench/out
export BENCH_OUT=$PWD/bench/out
export BENCH_RESULTS=$BENCH_OUT/results.tsv
: >"$BENCH_RESULTS"

started=$(date +%s)
machine() {
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r), $(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "date: $(date -u '+%F %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "references: $(memcached -V 2>/dev/null || echo 'memcached ?'), Twisted $(python3 -c 'import twisted; print(twisted.__version__)' 2>/dev/null || echo '?'), $(rustc --version)"
  echo "command: bench/run.sh $*"
}
info=$(machine "$@")
echo "$info"

# Each section is its own script, bounded in time; one that fails is
# reported and the others still run.
failed=()
for section in "${sections[@]}"; do
  echo
  echo "== $section =="
  if ! timeout --kill-after=10 900 bash "bench/$section.sh" "${quick[@]}"; then
    echo "run.sh: section $section failed" >&2
    failed+=("$section")
  fi
done

python3 bench/table.py "$BENCH_RESULTS"
{
  echo "$info" | sed 's/^/- /'
  echo "- took $(( ($(date +%s) - started) / 60 )) min $(( ($(date +%s) - started) % 60 )) s"
  echo
  python3 bench/table.py "$BENCH_RESULTS" --markdown
} >"$BENCH_OUT/results.md"
echo
echo "took $(( ($(date +%s) - started) / 60 )) min $(( ($(date +%s) - started) % 60 )) s; Markdown table in bench/out/results.md"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed sections: ${failed[*]}" >&2
  exit 1
fi
