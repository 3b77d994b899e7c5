#!/usr/bin/env bash
# torsion-proxy beside the seeds' proxy on Twisted (issue 11, benchmarks item 5).
#
#   bench/proxy.sh [--quick]
#   ROUNDS=5 FETCHES=1000 bench/proxy.sh
#
# Everything talks to a local origin (tests/src/bin/torsion-origin.rs, the proxy
# tests' origin: /delay/<secs>/... answers after that long) on 127.0.0.1.
# The Twisted side is bench/proxy_twisted.py: the seeds' proxy2.py with
# Agent and readBody (getPage is gone), and with --blocking their proxy1.py.
# The client is torsion-timing, the seeds' timingclient.py: one connection
# per URL, all opened at once.
#
# 1. The seeds' four-URL table: 0.5, 1.0, 1.5 and 0.8 s, through each proxy,
#    rounds alternating; the figure is the client's total (the longest
#    fetch for a non-blocking proxy, the sum for a blocking one).
# 2. FETCHES (1,000) concurrent slow fetches: distinct URLs answered after
#    200 ms, through a fresh proxy each round (torsion-proxy and proxy2.py
#    in turn); figures: the client's total time, the proxy's peak RSS
#    (VmHWM) and its growth over the run, and its CPU time per fetch.
#
# Proxies run on CPU 0, the origin and torsion-timing on CPU 1.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need python3

if [ "$BENCH_QUICK" = 1 ]; then
  ROUNDS=${ROUNDS:-2}
else
  ROUNDS=${ROUNDS:-5}
fi
FETCHES=${FETCHES:-1000}
FOUR="proxy: the seeds' four URLs at once (0.5, 1.0, 1.5, 0.8 s), torsion-timing"
MANY="proxy: $FETCHES concurrent fetches of a 200 ms origin, a fresh proxy per round"

python3 -c 'import twisted.web.client' 2>/dev/null || {
  echo "bench: python3 cannot import twisted.web.client (pip install twisted)" >&2; exit 1; }
# Two descriptors per fetch in the proxy, one per connection in the origin.
ulimit -n "$(ulimit -Hn)"
cargo build --release --quiet -p torsion-servers -p torsion-clients -p torsion-tests \
  --bin torsion-proxy --bin torsion-timing --bin torsion-origin

spawn "$BENCH_OUT/proxy-origin.log" "${PIN_CLIENT[@]}" "$TARGET/torsion-origin" 0
ORIGIN_PORT=$(listening_port "$BENCH_OUT/proxy-origin.log")
O=http://127.0.0.1:$ORIGIN_PORT/delay

# start_proxy NAME CMD...: starts a proxy on CPU 0; sets PROXY_PID, PROXY_PORT.
start_proxy() {
  local log=$BENCH_OUT/proxy-$1.log; shift
  spawn "$log" "${PIN_SERVER[@]}" "$@"
  PROXY_PID=$SPAWNED
  PROXY_PORT=$(listening_port "$log")
  wait_port "$PROXY_PORT"
}

# timing PORT URL...: torsion-timing's table; fails if a URL failed.
timing() {
  local port=$1; shift
  bounded 300 "${PIN_CLIENT[@]}" "$TARGET/torsion-timing" --timeout 120 "127.0.0.1:$port" "$@"
}

total_of() { awk '/^Total:/ {print $NF}'; }

# ----- 1. the four URLs ----------------------------------------------------------

start_proxy torsion "$TARGET/torsion-proxy" -p 0
T_PID=$PROXY_PID T_PORT=$PROXY_PORT
start_proxy torsion-blocking "$TARGET/torsion-proxy" -p 0 --blocking
TB_PID=$PROXY_PID TB_PORT=$PROXY_PORT
start_proxy twisted python3 "$BENCH_DIR/proxy_twisted.py"
P_PID=$PROXY_PID P_PORT=$PROXY_PORT
start_proxy twisted-blocking python3 "$BENCH_DIR/proxy_twisted.py" --blocking
PB_PID=$PROXY_PID PB_PORT=$PROXY_PORT
echo "proxy: origin :$ORIGIN_PORT; torsion-proxy :$T_PORT (--blocking :$TB_PORT); proxy2.py :$P_PORT, proxy1.py :$PB_PORT (Twisted $(python3 -c 'import twisted; print(twisted.__version__)'))"

declare -A four
for side in t tb p pb; do four[$side]=""; done
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="t p tb pb"; else order="p t pb tb"; fi
  for side in $order; do
    case $side in t) port=$T_PORT ;; tb) port=$TB_PORT ;; p) port=$P_PORT ;; pb) port=$PB_PORT ;; esac
    table=$(timing "$port" "$O/0.5/$r" "$O/1.0/$r" "$O/1.5/$r" "$O/0.8/$r")
    four[$side]+=" $(total_of <<<"$table")"
    if [ "$r" = "$ROUNDS" ]; then
      echo "proxy: round $r, $side:"
      sed 's/^/    /' <<<"$table"
    fi
  done
  echo "proxy: four URLs, round $r: torsion ${four[t]##* } s, proxy2.py ${four[p]##* } s; blocking: torsion ${four[tb]##* } s, proxy1.py ${four[pb]##* } s"
done
record "$FOUR" "non-blocking: the client's total" s lower "proxy2.py (Twisted)" "${four[t]}" "${four[p]}"
record "$FOUR" "--blocking: the client's total" s lower "proxy1.py (Twisted)" "${four[tb]}" "${four[pb]}"
for pid in "$T_PID" "$TB_PID" "$P_PID" "$PB_PID"; do stop "$pid"; done

# ----- 2. many concurrent slow fetches -------------------------------------------

hwm_kb() { awk '/^VmHWM:/ {print $2}' /proc/"$1"/status; }

# many SIDE ROUND: one run through a fresh proxy; prints
# "TOTAL PEAK-KiB GROWTH-KiB CPU-µs-per-fetch".
many() {
  local side=$1 r=$2 urls=() i before_rss before_cpu table total failed
  if [ "$side" = t ]; then
    start_proxy torsion "$TARGET/torsion-proxy" -p 0
  else
    start_proxy twisted python3 "$BENCH_DIR/proxy_twisted.py"
  fi
  for i in $(seq "$FETCHES"); do urls+=("$O/0.2/$side$r-$i"); done
  sleep 0.2
  before_rss=$(rss_kb "$PROXY_PID") before_cpu=$(cpu_ns "$PROXY_PID")
  table=$(timing "$PROXY_PORT" "${urls[@]}") || {
    failed=$(grep -c 'ERROR\|failed' <<<"$table" || true)
    echo "proxy: $side round $r: $failed of $FETCHES fetches failed" >&2
  }
  total=$(total_of <<<"$table")
  python3 - "$total" "$(hwm_kb "$PROXY_PID")" "$before_rss" "$before_cpu" "$(cpu_ns "$PROXY_PID")" "$FETCHES" <<'PY'
import sys
total, hwm, rss, c0, c1, n = sys.argv[1:]
print(total, hwm, int(hwm) - int(rss), f"{(int(c1) - int(c0)) / 1000 / int(n):.1f}")
PY
  stop "$PROXY_PID"
}

declare -A mt mpeak mgrow mcpu
for side in t p; do mt[$side]="" mpeak[$side]="" mgrow[$side]="" mcpu[$side]=""; done
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="t p"; else order="p t"; fi
  for side in $order; do
    read -r a b c d <<<"$(many "$side" "$r")"
    mt[$side]+=" $a" mpeak[$side]+=" $b" mgrow[$side]+=" $c" mcpu[$side]+=" $d"
  done
  echo "proxy: $FETCHES fetches, round $r: torsion ${mt[t]##* } s, peak ${mpeak[t]##* } KiB; proxy2.py ${mt[p]##* } s, peak ${mpeak[p]##* } KiB"
done
record "$MANY" "the client's total" s lower "proxy2.py (Twisted)" "${mt[t]}" "${mt[p]}"
record "$MANY" "the proxy's peak RSS (VmHWM)" KiB lower "proxy2.py (Twisted)" "${mpeak[t]}" "${mpeak[p]}"
record "$MANY" "the proxy's RSS growth over the run" KiB lower "proxy2.py (Twisted)" "${mgrow[t]}" "${mgrow[p]}"
record "$MANY" "the proxy's CPU per fetch" µs lower "proxy2.py (Twisted)" "${mcpu[t]}" "${mcpu[p]}"
