#!/usr/bin/env bash
# Side by side, in one run on this machine: the control room, Flower 2.2.0, and
# `redis-cli psubscribe '*'` to /dev/null (the ceiling), all fed the same stream by
# chavion-loadgen; then the control room and htop at rest in tmux. Writes its table into
# docs/PERFORMANCE.md between the compare markers. Loopback only.
#
#   bench/compare.sh                      # rates 1000 10000 50000 100000 200000, 10 s each
#   RATES="1000 10000" SECS=5 IDLE=30 bench/compare.sh
#   METRICS=1 RATES="100000 200000" bench/compare.sh   # the control room serving /metrics,
#                                                      # scraped every second; own section
#   RECORDER=0 RATES="100000 200000" bench/compare.sh  # the flight recorder turned off (it is
#                                                      # on by default); own section
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=${RATES-"1000 10000 50000 100000 200000"}
SECS=${SECS:-10}
IDLE=${IDLE:-60}
METRICS=${METRICS:-}
RECORDER=${RECORDER:-1}
# The flight recorder is on unless RECORDER=0: its segments' bytes are in each row.
RECORDER_TOML=""; [ "$RECORDER" = 0 ] && RECORDER_TOML='[recorder]\nenabled = false\n'
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/chavion-compare.XXXXXX)
SOCK="compare-$$"
# shellcheck source=bench/common.sh
. bench/common.sh

command -v htop >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq htop >/dev/null 2>&1 || true; }
VENV=bench/.venv
if [ ! -x "$VENV/bin/celery" ] || ! "$VENV/bin/pip" show flower 2>/dev/null | grep -q '^Version: 2.2.0'; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check flower==2.2.0 celery==5.7.0 kombu==5.7.0 redis==8.1.0 packaging
fi
# TUI=path/to/another/chavion-tui measures another build (an older one, for a baseline taken
# in the same conditions); otherwise this checkout's release build.
if [ -z "${TUI:-}" ]; then
  cargo build --release --locked --bins -q
  TUI=$PWD/target/release/chavion-tui
fi
LOADGEN=$PWD/target/release/chavion-loadgen
H="$WORK/home"; mkdir -p "$H/config/chavion-tui"
TUI_ENV="env HOME=$H XDG_CONFIG_HOME=$H/config XDG_DATA_HOME=$H/data XDG_STATE_HOME=$H/state TERM=xterm-256color"

rows=()
best=0
for RATE in $RATES; do
  P=$(free_port); FP=$(free_port)
  redis-server --port "$P" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null &
  RPID=$!; pids+=("$RPID")
  wait_for "redis-cli -p $P ping 2>/dev/null | grep -q PONG"
  URL="redis://127.0.0.1:$P/0"
  # Only the Redis feed: no probes, no Socket.IO, nothing else waking the control room.
  printf "socketio = []\nports = []\n${RECORDER_TOML}[redis]\nurl = \"%s\"\n" "$URL" > "$H/config/chavion-tui/config.toml"
  rm -rf "$H/state" "$H/data"
  redis-cli -p "$P" psubscribe '*' > "$WORK/cli.out" & CPID=$!; pids+=("$CPID")
  "$VENV/bin/celery" --broker="$URL" flower --address=127.0.0.1 --port="$FP" > "$WORK/flower.log" 2>&1 & FPID=$!; pids+=("$FPID")
  TUI_ARGS="--read-only"
  if [ -n "$METRICS" ]; then MP=$(free_port); TUI_ARGS="--read-only --metrics $MP"; fi
  tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 200 -y 50 "$TUI_ENV $TUI $TUI_ARGS"
  tmux -L "$SOCK" pipe-pane -o -t t "cat >> $WORK/tui.bytes"
  TPID=$(tmux -L "$SOCK" list-panes -t t -F '#{pane_pid}')
  SCRAPES=0
  if [ -n "$METRICS" ]; then
    wait_for "curl -s -o /dev/null http://127.0.0.1:$MP/metrics"
    # As Prometheus would, only more often: every second, for the whole run.
    ( while curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$MP/metrics" >> "$WORK/scrapes"; do sleep 1; done ) & SPID=$!; pids+=("$SPID")
  fi
  wait_for "curl -s -o /dev/null http://127.0.0.1:$FP/metrics"
  # Everyone subscribed: the control room and redis-cli by pattern, Flower by pattern too.
  wait_for "[ \$(redis-cli -p $P pubsub numpat) -ge 3 ]"
  sleep 1
  t0=$(date +%s.%N); c_t=$(cpu_ticks "$TPID"); c_f=$(cpu_ticks "$FPID"); c_c=$(cpu_ticks "$CPID")
  : > "$WORK/tui.bytes"
  SENT=$("$LOADGEN" --redis "$URL" --rate "$RATE" --seconds "$SECS" --mix celery | sed -n 1p | awk '{print $2}')
  sleep 3
  t1=$(date +%s.%N); d_t=$(( $(cpu_ticks "$TPID") - c_t )); d_f=$(( $(cpu_ticks "$FPID") - c_f )); d_c=$(( $(cpu_ticks "$CPID") - c_c ))
  BYTES=$(stat -c %s "$WORK/tui.bytes")
  FLOWER=$(curl -s "http://127.0.0.1:$FP/metrics" | awk '/^flower_events_total/ {s+=$2} END {printf "%d", s}')
  if [ -n "$METRICS" ]; then kill "$SPID" 2>/dev/null || true; SCRAPES=$(grep -c '^200$' "$WORK/scrapes" || true); : > "$WORK/scrapes"; fi
  tmux -L "$SOCK" send-keys -t t q
  wait_for "! kill -0 $TPID 2>/dev/null"
  TUI_LINE=$(grep -h "took in events=" "$H"/state/chavion-tui/*.log* | tail -1)
  TUI_EVENTS=$(sed -n 's/.*events=\([0-9]*\).*/\1/p' <<<"$TUI_LINE")
  TUI_SHED=$(sed -n 's/.*shed=\([0-9]*\).*/\1/p' <<<"$TUI_LINE")
  RECORDED=$({ du -sb "$H/data/chavion-tui/recordings" 2>/dev/null || true; } | awk '{printf "%.1f MB", $1/1e6}')
  kill "$CPID" "$FPID" 2>/dev/null || true; wait "$CPID" "$FPID" 2>/dev/null || true
  # Each task.multi message holds 10 events; redis-cli prints its channel on a line of its own.
  CLI=$(( $(grep -c '^/0.celeryev/task.multi$' "$WORK/cli.out") * 10 ))
  kill "$RPID"; wait "$RPID" 2>/dev/null || true
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  el=$(echo "$t1 - $t0" | bc -l)
  pct() { printf '%.1f' "$(echo "100 * $1 / $TICK / $el" | bc -l)"; }
  SCRAPED=""; [ -n "$METRICS" ] && SCRAPED=", $SCRAPES scrapes answered"
  rows+=("| $RATE | $SENT | $TUI_EVENTS (shed $TUI_SHED$SCRAPED) | $(pct $d_t) % | ${RECORDED:-off} | $(printf '%.1f' "$(echo "$BYTES / 1024 / $el" | bc -l)") KB/s | $FLOWER | $(pct $d_f) % | $CLI | $(pct $d_c) % |")
  echo "${rows[-1]}"
  if [ "${TUI_EVENTS:-0}" -ge "$SENT" ] && [ "${TUI_SHED:-1}" -eq 0 ]; then best=$RATE; fi
done

if [ -n "$METRICS" ]; then
  cat > "$WORK/table.md" <<MD
Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, release build, by
\`METRICS=1 RATES="$RATES" SECS=$SECS bench/compare.sh\`: as the table above, but the control
room serves /metrics (\`--metrics\`), counting every task event for it, and is scraped once a
second for the whole run (Prometheus's default is every 15 s).

| events/s | sent | control room received | its CPU | its recording | its bytes to the terminal | Flower received | Flower CPU | redis-cli received | redis-cli CPU |
|---|---|---|---|---|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")

Highest rate at which the control room received every event with nothing shed while serving
/metrics: **$best/s**.
MD
  python3 bench/put_section.py compare-metrics "The same, serving /metrics (\`METRICS=1 bench/compare.sh\`)" "$WORK/table.md"
  exit 0
fi

if [ "$RECORDER" = 0 ]; then
  cat > "$WORK/table.md" <<MD
Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, release build, by
\`RECORDER=0 RATES="$RATES" SECS=$SECS bench/compare.sh\`: as the table above, with the flight
recorder turned off (\`[recorder] enabled = false\`), to set beside it.

| events/s | sent | control room received | its CPU | its recording | its bytes to the terminal | Flower received | Flower CPU | redis-cli received | redis-cli CPU |
|---|---|---|---|---|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")

Highest rate at which the control room received every event with nothing shed, recorder off:
**$best/s**.
MD
  python3 bench/put_section.py compare-recorder-off "The same, recorder off (\`RECORDER=0 bench/compare.sh\`)" "$WORK/table.md"
  exit 0
fi

# At rest: the control room on a quiet Redis, and htop, each in tmux at 200×50.
P=$(free_port)
redis-server --port "$P" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null & RPID=$!; pids+=("$RPID")
wait_for "redis-cli -p $P ping 2>/dev/null | grep -q PONG"
printf 'socketio = []\nports = []\n[redis]\nurl = "redis://127.0.0.1:%s/0"\n' "$P" > "$H/config/chavion-tui/config.toml"
# And one with only the Redis URL set: the default port map probed every 5 s (nothing
# listens on most of it here), the default Socket.IO endpoint retried, the exposure audit.
printf '[redis]\nurl = "redis://127.0.0.1:%s/0"\n' "$P" > "$WORK/defaults.toml"
tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 200 -y 50 "$TUI_ENV $TUI --read-only"
tmux -L "$SOCK" new-window -t t "htop"
tmux -L "$SOCK" new-window -t t "$TUI_ENV CHAVION_TUI_CONFIG=$WORK/defaults.toml $TUI --read-only"
tmux -L "$SOCK" pipe-pane -o -t t:0 "cat >> $WORK/idle-tui.bytes"
tmux -L "$SOCK" pipe-pane -o -t t:1 "cat >> $WORK/idle-htop.bytes"
tmux -L "$SOCK" pipe-pane -o -t t:2 "cat >> $WORK/idle-defaults.bytes"
sleep 5
TPID=$(tmux -L "$SOCK" list-panes -t t:0 -F '#{pane_pid}'); HPID=$(tmux -L "$SOCK" list-panes -t t:1 -F '#{pane_pid}'); DPID=$(tmux -L "$SOCK" list-panes -t t:2 -F '#{pane_pid}')
: > "$WORK/idle-tui.bytes"; : > "$WORK/idle-htop.bytes"; : > "$WORK/idle-defaults.bytes"
c_t=$(cpu_ticks "$TPID"); c_h=$(cpu_ticks "$HPID"); c_d=$(cpu_ticks "$DPID"); t0=$(date +%s.%N)
sleep "$IDLE"
d_t=$(( $(cpu_ticks "$TPID") - c_t )); d_h=$(( $(cpu_ticks "$HPID") - c_h )); d_d=$(( $(cpu_ticks "$DPID") - c_d )); el=$(echo "$(date +%s.%N) - $t0" | bc -l)
rss() { awk '/VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$1/status"; }
f2() { printf '%.2f' "$(echo "$1" | bc -l)"; }
IDLE_ROW="| control room, quiet Redis, nothing else configured | $(f2 "100 * $d_t / $TICK / $el") % | $(f2 "$(stat -c %s "$WORK/idle-tui.bytes") / 1024 / $el") KB/s | $(rss "$TPID") |
| control room, quiet Redis, default port map and Socket.IO endpoint | $(f2 "100 * $d_d / $TICK / $el") % | $(f2 "$(stat -c %s "$WORK/idle-defaults.bytes") / 1024 / $el") KB/s | $(rss "$DPID") |
| htop $(htop --version | head -1 | awk '{print $2}') | $(f2 "100 * $d_h / $TICK / $el") % | $(f2 "$(stat -c %s "$WORK/idle-htop.bytes") / 1024 / $el") KB/s | $(rss "$HPID") |"
echo "$IDLE_ROW"

TABLE=$(cat <<MD
Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"),
redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), Flower 2.2.0, release build, by
\`RATES="$RATES" SECS=$SECS IDLE=$IDLE bench/compare.sh\`. Each consumer subscribed to the same
redis-server; chavion-loadgen published Celery task events in task.multi batches of 10 for
$SECS s at each rate. "Received" is what each consumer counted (the control room's own
counter at exit, which also counts its own queue samples, one a second; Flower's
\`flower_events_total\`; redis-cli's lines); CPU is % of one core over
the run; the control room drew in tmux at 200×50, its bytes counted by \`pipe-pane\`.

| events/s | sent | control room received | its CPU | its recording | its bytes to the terminal | Flower received | Flower CPU | redis-cli received | redis-cli CPU |
|---|---|---|---|---|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")

Highest rate at which the control room received every event with nothing shed: **$best/s**.

At rest, $IDLE s, nothing changing, in tmux at 200×50:

| process | CPU (% of one core) | bytes to the terminal | RSS |
|---|---|---|---|
$IDLE_ROW
MD
)
printf '%s\n' "$TABLE" > "$WORK/table.md"
python3 bench/put_section.py compare "Side by side: the control room, Flower and the ceiling (\`bench/compare.sh\`)" "$WORK/table.md"
