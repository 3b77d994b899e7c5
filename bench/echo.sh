#!/usr/bin/env bash
# The reactor alone: an echo server with 1 KiB messages. Torsion's reactor
# (echo-torsion) beside Twisted's default reactor (echo_twisted.py, epoll)
# and the textbook edge-triggered mio loop (echo-mio), all driven by the same
# closed-loop load generator (echo-load), measured in the same run.
#
#   bench/echo.sh [--quick]
#   ROUNDS=5 SECONDS_PER_ROUND=4 CONNECTIONS=32 bench/echo.sh
#
# The three servers run at once on CPU 0, echo-load on CPU 1; rounds rotate
# which server goes first. Figures: requests per second, the server's CPU
# time per request, and the median and 99th-percentile latency.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need python3

if [ "$BENCH_QUICK" = 1 ]; then
  ROUNDS=${ROUNDS:-3} SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-2}
else
  ROUNDS=${ROUNDS:-5} SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-4}
fi
CONNECTIONS=${CONNECTIONS:-32}
SIZE=1024
SECTION="echo: 1 KiB messages, $CONNECTIONS connections, one request outstanding each"

python3 -c 'import twisted' 2>/dev/null || {
  echo "bench: python3 cannot import twisted (pip install twisted)" >&2; exit 1; }
cargo build --release --quiet --manifest-path "$BENCH_DIR/Cargo.toml" --target-dir "$BENCH_ROOT/target" \
  --bin echo-torsion --bin echo-mio --bin echo-load

spawn "$BENCH_OUT/echo-torsion.log" "${PIN_SERVER[@]}" "$TARGET/echo-torsion"
T_PID=$SPAWNED; T_PORT=$(listening_port "$BENCH_OUT/echo-torsion.log")
spawn "$BENCH_OUT/echo-mio.log" "${PIN_SERVER[@]}" "$TARGET/echo-mio"
M_PID=$SPAWNED; M_PORT=$(listening_port "$BENCH_OUT/echo-mio.log")
spawn "$BENCH_OUT/echo-twisted.log" "${PIN_SERVER[@]}" python3 "$BENCH_DIR/echo_twisted.py"
P_PID=$SPAWNED; P_PORT=$(listening_port "$BENCH_OUT/echo-twisted.log")
echo "echo: torsion :$T_PORT, mio :$M_PORT, twisted :$P_PORT ($(python3 -c 'import twisted; print("Twisted", twisted.__version__)'))"

# round PID PORT: one run; prints "RPS CPU-µs-per-request P50 P99".
round() {
  local pid=$1 port=$2 before after line
  before=$(cpu_ns "$pid")
  line=$(bounded $((SECONDS_PER_ROUND + 60)) "${PIN_CLIENT[@]}" "$TARGET/echo-load" --addr "127.0.0.1:$port" \
    --connections "$CONNECTIONS" --size "$SIZE" --seconds "$SECONDS_PER_ROUND" --warmup 0.5)
  after=$(cpu_ns "$pid")
  python3 - "$line" "$before" "$after" <<'PY'
import sys
f = dict(kv.split("=") for kv in sys.argv[1].split())
req = int(f["requests"])
cpu = (int(sys.argv[3]) - int(sys.argv[2])) / 1000 / max(req, 1)
print(f["rps"], f"{cpu:.3f}", f["p50_us"], f["p99_us"])
PY
}

declare -A rps cpu p50 p99
for side in t m p; do rps[$side]="" cpu[$side]="" p50[$side]="" p99[$side]=""; done
for r in $(seq "$ROUNDS"); do
  case $((r % 3)) in 1) order="t m p" ;; 2) order="m p t" ;; *) order="p t m" ;; esac
  for side in $order; do
    case $side in t) pid=$T_PID port=$T_PORT ;; m) pid=$M_PID port=$M_PORT ;; p) pid=$P_PID port=$P_PORT ;; esac
    read -r a b c d <<<"$(round "$pid" "$port")"
    rps[$side]+=" $a" cpu[$side]+=" $b" p50[$side]+=" $c" p99[$side]+=" $d"
  done
  echo "echo: round $r: torsion ${rps[t]##* }/s, mio ${rps[m]##* }/s, twisted ${rps[p]##* }/s"
done

for ref in p m; do
  name=$([ "$ref" = p ] && echo "Twisted (epoll)" || echo "plain mio loop")
  record "$SECTION" "requests per second" "req/s" higher "$name" "${rps[t]}" "${rps[$ref]}"
  record "$SECTION" "server CPU per request" "µs" lower "$name" "${cpu[t]}" "${cpu[$ref]}"
  record "$SECTION" "latency p50" "µs" lower "$name" "${p50[t]}" "${p50[$ref]}"
  record "$SECTION" "latency p99" "µs" lower "$name" "${p99[t]}" "${p99[$ref]}"
done
