#!/usr/bin/env bash
# Memory under a steady flood, with the default retention (100 000 activity lines or 64 MiB,
# 50 000 tasks): the release binary in tmux at 200×50 with its default SQLite store, fed by
# chavion-loadgen (Celery task.multi lifecycles, agent reports and activity lines, half and
# half) for SECS at RATE. VmRSS is read every 10 s. Writes its table into
# docs/PERFORMANCE.md between the rss markers. Loopback only.
#
#   bench/rss.sh                     # 10 000 events/s for 300 s: 3 million events
#   RATE=5000 SECS=600 bench/rss.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-10000}
SECS=${SECS:-300}
WORK=$(mktemp -d /tmp/chavion-rss.XXXXXX)
SOCK="rss-$$"
RPID=""
cleanup() {
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  [ -n "$RPID" ] && kill "$RPID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 200); do eval "$1" && return 0; sleep 0.1; done; echo "timed out waiting for: $1" >&2; return 1; }
rss_mb() { awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

cargo build --release --locked --bins -q
TUI=$PWD/target/release/chavion-tui
LOADGEN=$PWD/target/release/chavion-loadgen
P=$(free_port)
redis-server --port "$P" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null &
RPID=$!
wait_for "redis-cli -p $P ping 2>/dev/null | grep -q PONG"
URL="redis://127.0.0.1:$P/0"
H="$WORK/home"; mkdir -p "$H/config/chavion-tui"
# Retention left at its defaults; no probes or Socket.IO, so the feed is all that works.
printf 'socketio = []\nports = []\n[redis]\nurl = "%s"\n' "$URL" > "$H/config/chavion-tui/config.toml"
tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 200 -y 50 \
  "env HOME=$H XDG_CONFIG_HOME=$H/config XDG_DATA_HOME=$H/data XDG_STATE_HOME=$H/state TERM=xterm-256color $TUI"
TPID=$(tmux -L "$SOCK" list-panes -t t -F '#{pane_pid}')
wait_for "[ \$(redis-cli -p $P pubsub numpat) -ge 1 ]"
sleep 2
START_RSS=$(rss_mb "$TPID")
"$LOADGEN" --redis "$URL" --rate "$RATE" --seconds "$SECS" > "$WORK/loadgen.out" &
LPID=$!
samples=()
t=0
while kill -0 "$LPID" 2>/dev/null; do
  sleep 10; t=$((t + 10))
  samples+=("$t $(( t * RATE )) $(rss_mb "$TPID")")
done
wait "$LPID"
sleep 3
END_RSS=$(rss_mb "$TPID")
tmux -L "$SOCK" send-keys -t t q
wait_for "! kill -0 $TPID 2>/dev/null"
LINE=$(grep -h "took in events=" "$H"/state/chavion-tui/*.log* | tail -1)
EVENTS=$(sed -n 's/.*events=\([0-9]*\).*/\1/p' <<<"$LINE")
SHED=$(sed -n 's/.*shed=\([0-9]*\).*/\1/p' <<<"$LINE")
SENT=$(sed -n 1p "$WORK/loadgen.out")

# RSS once a million events were in, and its range from then on.
at_million=""; low=999999; high=0
for s in "${samples[@]}"; do
  read -r _ ev mb <<<"$s"
  if [ "$ev" -ge 1000000 ]; then
    [ -z "$at_million" ] && at_million=$mb
    [ "$mb" -lt "$low" ] && low=$mb
    [ "$mb" -gt "$high" ] && high=$mb
  fi
done
series=$(for s in "${samples[@]}"; do read -r sec _ mb <<<"$s"; printf '%s s: %s MB · ' "$sec" "$mb"; done)
REPORT="$WORK/report.md"
{
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), by"
  echo "\`RATE=$RATE SECS=$SECS bench/rss.sh\`: the release binary in tmux at 200×50, default retention and"
  echo "SQLite store, chavion-loadgen --mix both. loadgen: $SENT"
  echo
  echo "| what | figure |"
  echo "|---|---|"
  echo "| events taken in / shed | $EVENTS / $SHED |"
  echo "| RSS before the flood | $START_RSS MB |"
  echo "| RSS once 1 million events were in | $at_million MB |"
  echo "| RSS from then to the end: lowest, highest | $low MB, $high MB |"
  echo "| RSS at the end ($(( RATE * SECS )) events) | $END_RSS MB |"
  echo
  echo "Every 10 s: ${series% · }."
} > "$REPORT"
cat "$REPORT"
python3 bench/put_section.py rss "Memory under a flood, default retention (\`bench/rss.sh\`)" "$REPORT"
