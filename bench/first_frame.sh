#!/usr/bin/env bash
# Time to the first frame with every service down: the release binary in tmux, the default
# port map (nothing listening on any of it here) and Redis on a port where nothing listens.
# Measured from just before `tmux new-session` to the first capture showing the title bar,
# so tmux's own start is included: an upper bound. Ten runs; prints median and max in ms.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin chavion-tui -q
BIN=$PWD/target/release/chavion-tui
H=$(mktemp -d); trap 'rm -rf "$H"; tmux -L ff kill-server 2>/dev/null || true' EXIT
DEAD=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
times=()
for i in $(seq 1 10); do
  t0=$(date +%s%N)
  tmux -L ff -f /dev/null new-session -d -s t -x 200 -y 50 \
    "env HOME=$H XDG_CONFIG_HOME=$H/c XDG_DATA_HOME=$H/d XDG_STATE_HOME=$H/s TERM=xterm-256color $BIN --read-only --redis redis://127.0.0.1:$DEAD/0"
  until tmux -L ff capture-pane -p -t t 2>/dev/null | grep -q 'chavion-tui'; do sleep 0.002; done
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
  tmux -L ff kill-server
  # The last one must be gone (its store writer finishing) before the next starts.
  while pgrep -f "$BIN --read-only" >/dev/null; do sleep 0.05; done
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "first frame, every service down (ms, 10 runs): median ${sorted[4]}, max ${sorted[9]}; all: ${times[*]}"
