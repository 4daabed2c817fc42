#!/usr/bin/env bash
# Several platforms at once: one control room watching N contexts (default N=5), each its
# own redis-server fed RATE Celery events a second (default 10 000) by its own
# chavion-loadgen, all at the same time; then the same control room at rest with N quiet
# contexts, and with one. Writes its table into docs/PERFORMANCE.md between the contexts
# markers. Loopback only.
#
#   bench/contexts.sh
#   N=3 RATE=20000 SECS=10 IDLE=30 bench/contexts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-5}
RATE=${RATE:-10000}
SECS=${SECS:-10}
IDLE=${IDLE:-60}
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/chavion-contexts.XXXXXX)
SOCK="contexts-$$"
# shellcheck source=bench/common.sh
. bench/common.sh
rss_mb() { awk '/^VmRSS/ {printf "%d", $2/1024}' "/proc/$1/status"; }

cargo build --release --locked --bins -q
TUI=$PWD/target/release/chavion-tui
LOADGEN=$PWD/target/release/chavion-loadgen
H="$WORK/home"; mkdir -p "$H/config/chavion-tui"
TUI_ENV="env HOME=$H XDG_CONFIG_HOME=$H/config XDG_DATA_HOME=$H/data XDG_STATE_HOME=$H/state TERM=xterm-256color"

ports=()
for i in $(seq 1 "$N"); do
  P=$(free_port)
  redis-server --port "$P" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null &
  pids+=($!); ports+=("$P")
  wait_for "redis-cli -p $P ping 2>/dev/null | grep -q PONG"
done

# Only the Redis feeds: no probes, no Socket.IO, nothing else waking the control room.
# `contexts` of the N platforms; the first is `default`.
config() {
  local n=$1
  printf 'socketio = []\nports = []\n[docker]\nurl = ""\n[redis]\nurl = "redis://127.0.0.1:%s/0"\n' "${ports[0]}"
  for i in $(seq 2 "$n"); do
    printf '[[contexts]]\nname = "platform-%s"\nredis.url = "redis://127.0.0.1:%s/0"\n' "$i" "${ports[$((i-1))]}"
  done
}

start_tui() {
  rm -rf "$H/state" "$H/data"
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 200 -y 50 "$TUI_ENV $TUI --read-only"
  TPID=$(tmux -L "$SOCK" list-panes -t t -F '#{pane_pid}')
}

# Under load: every platform fed at once.
config "$N" > "$H/config/chavion-tui/config.toml"
start_tui
for P in "${ports[@]}"; do wait_for "[ \$(redis-cli -p $P pubsub numpat) -ge 1 ]"; done
sleep 1
c0=$(cpu_ticks "$TPID"); t0=$(date +%s.%N)
gens=()
for P in "${ports[@]}"; do
  "$LOADGEN" --redis "redis://127.0.0.1:$P/0" --rate "$RATE" --seconds "$SECS" --mix celery > "$WORK/gen-$P" &
  gens+=($!)
done
peak=0
for _ in $(seq 1 $((SECS * 2))); do
  r=$(rss_mb "$TPID"); [ "$r" -gt "$peak" ] && peak=$r
  sleep 0.5
done
wait "${gens[@]}"
sleep 3
c1=$(cpu_ticks "$TPID"); t1=$(date +%s.%N)
r=$(rss_mb "$TPID"); [ "$r" -gt "$peak" ] && peak=$r
tmux -L "$SOCK" send-keys -t t q
wait_for "! kill -0 $TPID 2>/dev/null"
SENT=0
for P in "${ports[@]}"; do SENT=$((SENT + $(awk '{print $2; exit}' "$WORK/gen-$P"))); done
TOOK=$(grep -h "took in events=" "$H"/state/chavion-tui/*.log* | sed -n 's/.*events=\([0-9]*\).*/\1/p' | paste -sd+ | bc)
SHED=$(grep -h "took in events=" "$H"/state/chavion-tui/*.log* | sed -n 's/.*shed=\([0-9]*\).*/\1/p' | paste -sd+ | bc)
LOADED=$(printf '%.1f' "$(echo "100 * ($c1 - $c0) / $TICK / ($t1 - $t0)" | bc -l)")

# At rest: N quiet contexts, then one.
idle() {
  config "$1" > "$H/config/chavion-tui/config.toml"
  start_tui
  sleep 5
  local a; a=$(cpu_ticks "$TPID"); local s; s=$(date +%s.%N)
  sleep "$IDLE"
  local b; b=$(cpu_ticks "$TPID"); local e; e=$(date +%s.%N)
  IDLE_CPU=$(printf '%.2f' "$(echo "100 * ($b - $a) / $TICK / ($e - $s)" | bc -l)")
  IDLE_RSS=$(rss_mb "$TPID")
  tmux -L "$SOCK" send-keys -t t q
  wait_for "! kill -0 $TPID 2>/dev/null"
}
idle "$N"; QUIET_N=$IDLE_CPU; RSS_N=$IDLE_RSS
idle 1; QUIET_1=$IDLE_CPU; RSS_1=$IDLE_RSS

cat > "$WORK/table.md" <<MD
Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, release build, by
\`N=$N RATE=$RATE SECS=$SECS IDLE=$IDLE bench/contexts.sh\`: one control room (in tmux at
200×50, \`--read-only\`, the flight recorder on) watching $N contexts, each its own
redis-server fed $RATE Celery events a second by its own chavion-loadgen, all at once for
$SECS s. "Taken" sums every context's own count at exit (each also counts its queue
samples, one a second).

| contexts | sent in all | taken in all | shed | CPU (% of one core) | peak RSS |
|---|---|---|---|---|---|
| $N × $RATE/s | $SENT | $TOOK | $SHED | $LOADED % | $peak MB |

At rest for $IDLE s, nothing changing:

| contexts watched | CPU (% of one core) | RSS |
|---|---|---|
| $N quiet | $QUIET_N % | $RSS_N MB |
| 1 quiet | $QUIET_1 % | $RSS_1 MB |
MD
python3 bench/put_section.py contexts "Several platforms at once (\`bench/contexts.sh\`)" "$WORK/table.md"
cat "$WORK/table.md"
