# Shared by the bench/*.sh scripts: pinning, process cleanup, waiting for
# ports, and recording figures. Source it; do not run it.
#
# Every figure is recorded with `record`, one tab-separated line per figure
# in $BENCH_RESULTS (default bench/out/results.tsv), which table.py prints.
# A script run on its own starts a fresh file and prints its own table.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=$BENCH_ROOT/bench
BENCH_OUT=${BENCH_OUT:-$BENCH_DIR/out}
mkdir -p "$BENCH_OUT"
TARGET=$BENCH_ROOT/target/release

# --quick (or BENCH_QUICK=1): fewer, shorter rounds.
BENCH_QUICK=${BENCH_QUICK:-0}
for arg in "$@"; do [ "$arg" = --quick ] && BENCH_QUICK=1; done
export BENCH_QUICK

# Standalone run: a fresh results file, printed at exit.
if [ -z "${BENCH_RESULTS:-}" ]; then
  BENCH_RESULTS=$BENCH_OUT/results.tsv
  : >"$BENCH_RESULTS"
  BENCH_STANDALONE=1
else
  BENCH_STANDALONE=0
fi
export BENCH_RESULTS

# Servers on CPU 0, load generators on CPU 1, when there are two CPUs.
PIN_SERVER=() PIN_CLIENT=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER=(taskset -c 0) PIN_CLIENT=(taskset -c 1)
fi

# Every process started with `spawn` is killed at exit, by its pid.
BENCH_PIDS=()
bench_cleanup() {
  local p
  for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${BENCH_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  BENCH_PIDS=()
  if [ "$BENCH_STANDALONE" = 1 ] && [ -s "$BENCH_RESULTS" ]; then
    python3 "$BENCH_DIR/table.py" "$BENCH_RESULTS" || true
  fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
  done
}

# spawn LOG CMD...: starts CMD in the background, output to LOG; sets SPAWNED.
spawn() {
  local log=$1; shift
  "$@" >"$log" 2>&1 &
  SPAWNED=$!
  BENCH_PIDS+=("$SPAWNED")
}

# stop PID: SIGTERM, then SIGKILL after 5 s; forgets it.
stop() {
  local pid=$1 p kept=()
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  BENCH_PIDS=("${kept[@]}")
}

# listening_port LOG: waits (5 s at most) for "... listening on HOST:PORT"
# in LOG and prints PORT.
listening_port() {
  local port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$1" | head -1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.05
  done
  echo "bench: no 'listening on' line in $1:" >&2; cat "$1" >&2; exit 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port PORT: waits (5 s at most) until something accepts on PORT.
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench: nothing listens on port $1" >&2; exit 1
}

# start_torsion_memcached [ARGS...]: sets TORSION_PID, TORSION_PORT.
start_torsion_memcached() {
  spawn "$BENCH_OUT/torsion-memcached.log" "${PIN_SERVER[@]}" "$TARGET/torsion-memcached" -p 0 "$@"
  TORSION_PID=$SPAWNED
  TORSION_PORT=$(listening_port "$BENCH_OUT/torsion-memcached.log")
  wait_port "$TORSION_PORT"
}

# start_memcached [ARGS...]: Debian's memcached, one worker thread; sets
# MEMCACHED_PID, MEMCACHED_PORT.
start_memcached() {
  MEMCACHED_PORT=$(free_port)
  local user=(); [ "$(id -u)" = 0 ] && user=(-u nobody)
  spawn "$BENCH_OUT/memcached.log" "${PIN_SERVER[@]}" memcached -t 1 -U 0 -l 127.0.0.1 -p "$MEMCACHED_PORT" "${user[@]}" "$@"
  MEMCACHED_PID=$SPAWNED
  wait_port "$MEMCACHED_PORT"
}

# cpu_ns PID: CPU time of all the process's threads so far, in nanoseconds
# (/proc/PID/task/*/schedstat, first field).
cpu_ns() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s+=$1} END {printf "%.0f\n", s}'
}

# rss_kb PID: resident set size in KiB.
rss_kb() { awk '/^VmRSS:/ {print $2}' /proc/"$1"/status; }

# record SECTION NAME UNIT BETTER REFERENCE "T1 T2 ..." "R1 R2 ...":
# one figure for the table; BETTER is higher or lower; the value lists are
# the rounds (Torsion's, then the reference's). An empty Torsion list with
# REFERENCE "-" records a skipped line whose NAME says why.
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_RESULTS"
}

# median LIST: the median of the space-separated numbers.
median() { python3 -c 'import sys,statistics as s; print(s.median(map(float,sys.argv[1:])))' $1; }

# bounded SECONDS CMD...: runs CMD, killed if it takes longer than SECONDS.
bounded() { local t=$1; shift; timeout --kill-after=5 "$t" "$@"; }
