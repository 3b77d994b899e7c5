#!/usr/bin/env bash
# Memory of torsion-memcached beside Debian's memcached -t 1, side by side.
#
#   bench/memory.sh [--quick]
#   ROUNDS=3 CONNS=10000 ITEMS=1000000 bench/memory.sh
#
# Each figure comes from a fresh server, the two servers alternating, round
# by round. RSS is VmRSS from /proc/PID/status.
#
# 1. Idle connections: RSS growth per connection after `mc-idle` opens
#    CONNS connections and the server reports them all in `stats`
#    (curr_connections); once with connections that never sent a byte, once
#    with connections that each did one `version` round trip first.
# 2. Items: RSS growth per item after `mc-fill` stores ITEMS items with
#    12-byte keys and 100-byte values (pipelined `set`s), and the same minus
#    the key and value: what the server spends per item on top of the data.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need memcached python3

if [ "$BENCH_QUICK" = 1 ]; then
  ROUNDS=${ROUNDS:-1}
else
  ROUNDS=${ROUNDS:-3}
fi
CONNS=${CONNS:-10000}
ITEMS=${ITEMS:-1000000}
VALUE=100
KEY=12
SECTION="memory: RSS growth, fresh server per figure"

cargo build --release --quiet --bin torsion-memcached --manifest-path "$BENCH_ROOT/Cargo.toml"
cargo build --release --quiet --manifest-path "$BENCH_DIR/Cargo.toml" --target-dir "$BENCH_ROOT/target" --bin mc-idle --bin mc-fill
# Each side (server, mc-idle) needs a descriptor per connection.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((CONNS + 1000)) ]; then
  echo "bench: the descriptor limit ($hard) is too low for $CONNS connections" >&2; exit 1
fi
ulimit -n "$hard"

# stat PORT NAME: one figure from the server's `stats`.
stat() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"stats\r\n")
buf = b""
while not buf.endswith(b"END\r\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
for line in buf.decode().split("\r\n"):
    parts = line.split()
    if len(parts) == 3 and parts[1] == sys.argv[2]:
        print(parts[2])
PY
}

# start SIDE: a fresh server; sets PID and PORT.
start() {
  if [ "$1" = t ]; then
    start_torsion_memcached -m 1024 -c $((CONNS + 100))
    PID=$TORSION_PID PORT=$TORSION_PORT
  else
    start_memcached -m 1024 -c $((CONNS + 100))
    PID=$MEMCACHED_PID PORT=$MEMCACHED_PORT
  fi
  stat "$PORT" pid >/dev/null # one request first: both servers warm
  sleep 0.2
}

# per_connection SIDE REQUEST: bytes of RSS per idle connection.
per_connection() {
  start "$1"
  local before after fifo holder
  before=$(rss_kb "$PID")
  fifo=$(mktemp -u); mkfifo "$fifo"
  # mc-idle holds the connections until its standard input (the fifo) closes.
  "$TARGET/mc-idle" --addr "127.0.0.1:$PORT" --count "$CONNS" --request "$2" <"$fifo" >"$BENCH_OUT/mc-idle.log" 2>&1 &
  holder=$!
  BENCH_PIDS+=("$holder")
  exec 7>"$fifo"
  for _ in $(seq 600); do
    grep -q ready "$BENCH_OUT/mc-idle.log" && break
    kill -0 "$holder" 2>/dev/null || { cat "$BENCH_OUT/mc-idle.log" >&2; exit 1; }
    sleep 0.1
  done
  for _ in $(seq 100); do
    [ "$(stat "$PORT" curr_connections)" -gt "$CONNS" ] && break
    sleep 0.1
  done
  sleep 0.5
  after=$(rss_kb "$PID")
  exec 7>&-
  wait "$holder" 2>/dev/null || true
  rm -f "$fifo"
  stop "$PID"
  python3 -c "print(f'{($after-$before)*1024/$CONNS:.1f}')"
}

# per_item SIDE: bytes of RSS per stored item.
per_item() {
  start "$1"
  local before after
  before=$(rss_kb "$PID")
  bounded 300 "$TARGET/mc-fill" --addr "127.0.0.1:$PORT" --items "$ITEMS" --value "$VALUE" >/dev/null
  [ "$(stat "$PORT" curr_items)" = "$ITEMS" ] || { echo "bench: $1 did not keep $ITEMS items" >&2; exit 1; }
  sleep 1 # memcached grows its hash table in a background thread
  after=$(rss_kb "$PID")
  stop "$PID"
  python3 -c "print(f'{($after-$before)*1024/$ITEMS:.1f}')"
}

sides() { [ $(($1 % 2)) = 1 ] && echo "t m" || echo "m t"; }

for request in 0 1; do
  t="" m=""
  for r in $(seq "$ROUNDS"); do
    for side in $(sides "$r"); do
      v=$(per_connection "$side" "$request")
      if [ "$side" = t ]; then t+=" $v"; else m+=" $v"; fi
    done
  done
  what=$([ "$request" = 0 ] && echo "never used" || echo "after one request")
  echo "memory: $CONNS idle connections ($what): torsion$t, memcached$m bytes each"
  record "$SECTION" "$CONNS idle connections ($what): per connection" "bytes" lower "memcached -t 1" "$t" "$m"
done

t="" m=""
for r in $(seq "$ROUNDS"); do
  for side in $(sides "$r"); do
    v=$(per_item "$side")
    if [ "$side" = t ]; then t+=" $v"; else m+=" $v"; fi
  done
done
echo "memory: $ITEMS items of ${VALUE}-byte values: torsion$t, memcached$m bytes each"
beyond() { local out="" v; for v in $1; do out+=" $(python3 -c "print(f'{$v-$KEY-$VALUE:.1f}')")"; done; echo "$out"; }
record "$SECTION" "$ITEMS items, ${KEY}-byte keys, ${VALUE}-byte values: per item" "bytes" lower "memcached -t 1" "$t" "$m"
record "$SECTION" "  of which beyond key and value" "bytes" lower "memcached -t 1" "$(beyond "$t")" "$(beyond "$m")"
