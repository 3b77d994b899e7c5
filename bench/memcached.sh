#!/usr/bin/env bash
# torsion-memcached beside Debian's memcached -t 1, measured in the same run.
#
#   bench/memcached.sh [--quick]
#   ROUNDS=5 SECONDS_PER_ROUND=4 bench/memcached.sh
#
# 1. Throughput with memcaslap (libmemcached-tools): the default 90% get /
#    10% set mix over 32 connections, then 16-key multigets (-d 16). The
#    servers alternate, round by round. Beside each throughput, the server's
#    CPU time per operation (all its threads, from /proc/PID/task/*/schedstat):
#    on a shared, noisy machine it moves much less than throughput does.
# 2. System calls per request: strace -c -f counts the server's system calls
#    while memcaslap runs a fixed number of operations, alternating too.
#
# Needs: memcached, memcaslap, strace, taskset (util-linux), python3. The
# servers are pinned to CPU 0 and memcaslap to CPU 1 when there are two.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need memcached memcaslap strace python3

if [ "$BENCH_QUICK" = 1 ]; then
  ROUNDS=${ROUNDS:-3} SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-2} STRACE_ROUNDS=${STRACE_ROUNDS:-1}
else
  ROUNDS=${ROUNDS:-7} SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-4} STRACE_ROUNDS=${STRACE_ROUNDS:-3}
fi
CONNECTIONS=32
VALUE_SIZE=100
STRACE_OPS=100000
SECTION="memcached: memcaslap, $CONNECTIONS connections, ${VALUE_SIZE}-byte values"

cargo build --release --quiet --bin torsion-memcached --manifest-path "$BENCH_ROOT/Cargo.toml"

start_torsion_memcached -m 1024
start_memcached -m 1024
echo "memcached: torsion-memcached on :$TORSION_PORT (pid $TORSION_PID), memcached -t 1 on :$MEMCACHED_PORT (pid $MEMCACHED_PID)"
echo "memcached: $ROUNDS rounds of ${SECONDS_PER_ROUND}s per server and workload, $(nproc) CPUs"

# memcaslap PORT ARGS...: runs memcaslap on the client CPU; prints "OPS TPS".
memcaslap_run() {
  local port=$1; shift
  bounded 120 "${PIN_CLIENT[@]}" memcaslap -s "127.0.0.1:$port" -T 1 -c "$CONNECTIONS" -X "$VALUE_SIZE" "$@" 2>&1 \
    | sed -n 's/.*Ops: \([0-9]*\) TPS: \([0-9]*\).*/\1 \2/p' | tail -1
}

# round PID PORT ARGS...: one timed run; prints "TPS CPU-µs-per-op".
round() {
  local pid=$1 port=$2; shift 2
  local before after ops tps
  before=$(cpu_ns "$pid")
  read -r ops tps <<<"$(memcaslap_run "$port" -t "${SECONDS_PER_ROUND}s" "$@")"
  after=$(cpu_ns "$pid")
  [ -n "$ops" ] && [ "$ops" -gt 0 ] || { echo "bench: memcaslap reported nothing" >&2; exit 1; }
  echo "$tps $(python3 -c "print(f'{($after-$before)/1000/$ops:.3f}')")"
}

# Warm both stores so gets hit.
memcaslap_run "$TORSION_PORT" -t 2s >/dev/null
memcaslap_run "$MEMCACHED_PORT" -t 2s >/dev/null

for workload in "90% get / 10% set:" "16-key multiget:-d 16"; do
  name=${workload%%:*} args=${workload#*:}
  t_tps="" m_tps="" t_cpu="" m_cpu=""
  for r in $(seq "$ROUNDS"); do
    # Alternate which server goes first, so neither always follows the other.
    for side in $( [ $((r % 2)) = 1 ] && echo "t m" || echo "m t"); do
      if [ "$side" = t ]; then
        # shellcheck disable=SC2086
        read -r tps cpu <<<"$(round "$TORSION_PID" "$TORSION_PORT" $args)"
        t_tps+=" $tps" t_cpu+=" $cpu"
      else
        # shellcheck disable=SC2086
        read -r tps cpu <<<"$(round "$MEMCACHED_PID" "$MEMCACHED_PORT" $args)"
        m_tps+=" $tps" m_cpu+=" $cpu"
      fi
    done
    echo "memcached: $name round $r: torsion ${t_tps##* } ops/s, memcached ${m_tps##* } ops/s"
  done
  record "$SECTION" "$name: throughput" "ops/s" higher "memcached -t 1" "$t_tps" "$m_tps"
  record "$SECTION" "$name: server CPU per op" "µs" lower "memcached -t 1" "$t_cpu" "$m_cpu"
done

# System calls per request: attach strace to a server for a fixed run.
syscalls_per_op() {
  local pid=$1 port=$2 log; shift 2
  log=$(mktemp)
  strace -c -f -p "$pid" -o "$log" 2>/dev/null &
  local tracer=$!
  BENCH_PIDS+=("$tracer")
  sleep 0.5
  memcaslap_run "$port" -x "$STRACE_OPS" "$@" >/dev/null
  kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true
  local calls; calls=$(awk '$NF=="total" {print $4}' "$log")
  rm -f "$log"
  python3 -c "print(f'{$calls/$STRACE_OPS:.3f}')"
}
for workload in "90% get / 10% set:" "16-key multiget:-d 16"; do
  name=${workload%%:*} args=${workload#*:}
  t="" m=""
  for _ in $(seq "$STRACE_ROUNDS"); do
    # shellcheck disable=SC2086
    t+=" $(syscalls_per_op "$TORSION_PID" "$TORSION_PORT" $args)"
    # shellcheck disable=SC2086
    m+=" $(syscalls_per_op "$MEMCACHED_PID" "$MEMCACHED_PORT" $args)"
  done
  echo "memcached: $name system calls per op: torsion$t, memcached$m"
  record "$SECTION" "$name: system calls per op" "calls" lower "memcached -t 1" "$t" "$m"
done
