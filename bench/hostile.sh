#!/usr/bin/env bash
# Issue 26's numbers (docs/PERFORMANCE.md, "Hostile input"): Redis clients and the control
# room's descriptors while 3 000 and 30 000 fake workers announce themselves, and /metrics
# scraped by 10 clients at once near its label caps. `watch` serves /metrics, as in
# production. TUI=path/to/another/chavion-tui measures another build (an older one, say).
# Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d /tmp/chavion-hostile.XXXXXX)
SOCK="hostile-$$"
# shellcheck source=bench/common.sh
. bench/common.sh
PY=tests/peers/.venv/bin/python
[ -x "$PY" ] || { echo "bench/hostile.sh: run ./scripts/test once first (it builds $PY)" >&2; exit 1; }
if [ -z "${TUI:-}" ]; then
  cargo build --release --locked --bins -q
  TUI=$PWD/target/release/chavion-tui
fi
H="$WORK/home"; mkdir -p "$H/config/chavion-tui"
run() { # N RATE: a fresh Redis and watch, one flood
  local rport mport pid
  rport=$(free_port); mport=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --maxclients 10000 >/dev/null &
  pids+=($!)
  wait_for "redis-cli -p $rport ping >/dev/null 2>&1"
  printf 'socketio = []\nports = []\n[redis]\nurl = "redis://127.0.0.1:%s/0"\n[docker]\nurl = ""\n' "$rport" \
    > "$H/config/chavion-tui/config.toml"
  env HOME="$H" XDG_CONFIG_HOME="$H/config" XDG_DATA_HOME="$H/data" XDG_STATE_HOME="$H/state" \
    "$TUI" watch --metrics "$mport" >/dev/null 2>&1 &
  pid=$!; pids+=($pid)
  wait_for "curl -sf http://127.0.0.1:$mport/metrics >/dev/null"
  sleep 2
  "$PY" bench/hostile.py flood "$rport" "$pid" "$1" "$2"
  if [ "$1" = 3000 ]; then
    "$PY" bench/hostile.py tasks "$rport" 1000
    sleep 2
    "$PY" bench/hostile.py scrape "$mport" 10 10
  fi
  kill "$pid" 2>/dev/null || true
  redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true
}
run 3000 1000
run 30000 5000
