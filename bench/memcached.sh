#!/usr/bin/env bash
# torsion-memcached beside Debian's memcached -t 1, measured in the same run.
#
#   bench/memcached.sh [rounds] [seconds-per-round]
#
# 1. Throughput with memcaslap (libmemcached-tools): the default 90% get /
#    10% set mix over 32 connections, then 16-key multigets. Servers and
#    memcaslap alternate, round by round; each figure is the median of the
#    rounds, with the spread (min..max); the ratio is torsion / memcached.
# 2. System calls per request: strace -c -f counts the server's system calls
#    while memcaslap runs a fixed number of operations.
#
# Needs: memcached, memcaslap, strace, taskset (util-linux), python3.
# The server is pinned to CPU 0 and memcaslap to CPU 1 when there are two.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-5}
SECONDS_PER_ROUND=${2:-4}
CONNECTIONS=32
VALUE_SIZE=100
STRACE_OPS=200000

for tool in memcached memcaslap strace python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done

cargo build --release --quiet --bin torsion-memcached
TORSION=target/release/torsion-memcached

pin_server=() pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_server=(taskset -c 0) pin_client=(taskset -c 1)
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench: nothing listens on port $1" >&2; exit 1
}

start_torsion() {
  local out; out=$(mktemp)
  "${pin_server[@]}" "$TORSION" -p 0 -m 1024 >"$out" 2>/dev/null &
  pids+=($!); TORSION_PID=$!
  for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.05; done
  TORSION_PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out")
  rm -f "$out"
  wait_port "$TORSION_PORT"
}

start_memcached() {
  MEMCACHED_PORT=$(free_port)
  local user=(); [ "$(id -u)" = 0 ] && user=(-u nobody)
  "${pin_server[@]}" memcached -t 1 -U 0 -m 1024 -l 127.0.0.1 -p "$MEMCACHED_PORT" "${user[@]}" &
  pids+=($!); MEMCACHED_PID=$!
  wait_port "$MEMCACHED_PORT"
}

# memcaslap's ops per second against a port; extra arguments are passed on.
tps() {
  local port=$1; shift
  "${pin_client[@]}" memcaslap -s "127.0.0.1:$port" -T 1 -c "$CONNECTIONS" -X "$VALUE_SIZE" "$@" 2>&1 \
    | sed -n 's/.*TPS: \([0-9]*\).*/\1/p' | tail -1
}

# median, min, max of the arguments
stats() { python3 -c 'import sys,statistics as s; v=sorted(map(float,sys.argv[1:])); print(f"{s.median(v):.0f} {v[0]:.0f} {v[-1]:.0f}")' "$@"; }

start_torsion
start_memcached
echo "torsion-memcached on :$TORSION_PORT (pid $TORSION_PID), memcached -t 1 on :$MEMCACHED_PORT (pid $MEMCACHED_PID)"
echo "$(nproc) CPUs, $ROUNDS rounds of ${SECONDS_PER_ROUND}s, $CONNECTIONS connections, ${VALUE_SIZE}-byte values, $(date -u +%F)"

# Warm both stores so gets hit.
tps "$TORSION_PORT" -t 2s >/dev/null
tps "$MEMCACHED_PORT" -t 2s >/dev/null

printf '\n%-28s %30s %30s %8s\n' "throughput (ops/s)" "torsion: median (min..max)" "memcached: median (min..max)" "ratio"
for workload in "90% get / 10% set:" "16-key multiget:-d 16"; do
  name=${workload%%:*} args=${workload#*:}
  t=() m=()
  for _ in $(seq "$ROUNDS"); do
    # shellcheck disable=SC2086
    t+=("$(tps "$TORSION_PORT" -t "${SECONDS_PER_ROUND}s" $args)")
    # shellcheck disable=SC2086
    m+=("$(tps "$MEMCACHED_PORT" -t "${SECONDS_PER_ROUND}s" $args)")
  done
  read -r tmed tmin tmax <<<"$(stats "${t[@]}")"
  read -r mmed mmin mmax <<<"$(stats "${m[@]}")"
  ratio=$(python3 -c "print(f'{$tmed/$mmed:.2f}')")
  printf '%-28s %30s %30s %8s\n' "$name" "$tmed ($tmin..$tmax)" "$mmed ($mmin..$mmax)" "$ratio"
done

# System calls per request: attach strace to each server for a fixed run.
syscalls_per_op() {
  local pid=$1 port=$2 log; log=$(mktemp)
  strace -c -f -p "$pid" -o "$log" 2>/dev/null &
  local tracer=$!
  sleep 0.5
  "${pin_client[@]}" memcaslap -s "127.0.0.1:$port" -T 1 -c "$CONNECTIONS" -X "$VALUE_SIZE" -x "$STRACE_OPS" >/dev/null 2>&1
  kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true
  local calls; calls=$(awk '$NF=="total" {print $4}' "$log")
  rm -f "$log"
  python3 -c "print(f'{$calls/$STRACE_OPS:.2f}')"
}
printf '\n%-28s %30s %30s %8s\n' "system calls per request" "torsion" "memcached" "ratio"
ts=$(syscalls_per_op "$TORSION_PID" "$TORSION_PORT")
ms=$(syscalls_per_op "$MEMCACHED_PID" "$MEMCACHED_PORT")
printf '%-28s %30s %30s %8s\n' "90% get / 10% set" "$ts" "$ms" "$(python3 -c "print(f'{$ts/$ms:.2f}')")"
