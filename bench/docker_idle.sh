#!/usr/bin/env bash
# Idle cost of following the Docker Engine: the control room at rest in tmux (200×50) with a
# private dockerd holding 50 running containers and its event stream open, beside the same
# control room with Docker off and htop, over $IDLE seconds. Writes its table into
# docs/PERFORMANCE.md between the docker-idle markers. Loopback and a private socket only.
#
#   bench/docker_idle.sh            # IDLE=60
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${IDLE:-60}
N=${N:-50}
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/chavion-docker-idle.XXXXXX)
SOCK="docker-idle-$$"
DPID=""
cleanup() {
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  if [ -S "$WORK/docker.sock" ]; then
    DOCKER_HOST="unix://$WORK/docker.sock" docker rm -f $(DOCKER_HOST="unix://$WORK/docker.sock" docker ps -aq) >/dev/null 2>&1 || true
  fi
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && sleep 3 || true
  [ -n "${RPID:-}" ] && kill "$RPID" 2>/dev/null || true
  # dockerd mounts its data root over itself: unmount before removing.
  mount | awk '{print $3}' | grep "^$WORK" | sort -r | xargs -r umount -l 2>/dev/null || true
  rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
wait_for() { for _ in $(seq 1 300); do eval "$1" && return 0; sleep 0.2; done; echo "timed out waiting for: $1" >&2; return 1; }

cargo build --release --locked --bins -q
TUI=$PWD/target/release/chavion-tui
export DOCKER_HOST="unix://$WORK/docker.sock"
dockerd --host "$DOCKER_HOST" --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid" \
  --storage-driver vfs --iptables=false --bridge=none --ip-masq=false > "$WORK/dockerd.log" 2>&1 & DPID=$!
wait_for "docker version >/dev/null 2>&1"
R="$WORK/rootfs"; mkdir -p "$R/bin"; cp /usr/bin/busybox "$R/bin/"; for c in sh sleep; do ln -s busybox "$R/bin/$c"; done
tar -C "$R" -cf "$WORK/rootfs.tar" . && docker import "$WORK/rootfs.tar" mini:1 >/dev/null
for i in $(seq 1 "$N"); do
  docker run -d --name "c$i" --network none --label com.docker.compose.project=chavion \
    --label "com.docker.compose.service=svc$i" mini:1 sleep 100000 >/dev/null
done
P=$(free_port)
redis-server --port "$P" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null & RPID=$!
wait_for "redis-cli -p $P ping 2>/dev/null | grep -q PONG"
H="$WORK/home"; mkdir -p "$H/config"
printf 'socketio = []\nports = []\n[redis]\nurl = "redis://127.0.0.1:%s/0"\n[docker]\nurl = "%s"\nproject = "chavion"\n' "$P" "$DOCKER_HOST" > "$WORK/with.toml"
printf 'socketio = []\nports = []\n[redis]\nurl = "redis://127.0.0.1:%s/0"\n[docker]\nurl = ""\n' "$P" > "$WORK/without.toml"
ENV="env HOME=$H XDG_CONFIG_HOME=$H/config XDG_DATA_HOME=$H/data XDG_STATE_HOME=$H/state TERM=xterm-256color"
tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 200 -y 50 "$ENV CHAVION_TUI_CONFIG=$WORK/with.toml $TUI --read-only"
tmux -L "$SOCK" new-window -t t "$ENV CHAVION_TUI_CONFIG=$WORK/without.toml $TUI --read-only"
tmux -L "$SOCK" new-window -t t "htop"
sleep 8
W=$(tmux -L "$SOCK" list-panes -t t:0 -F '#{pane_pid}'); O=$(tmux -L "$SOCK" list-panes -t t:1 -F '#{pane_pid}'); HT=$(tmux -L "$SOCK" list-panes -t t:2 -F '#{pane_pid}')
tmux -L "$SOCK" capture-pane -p -t t:0 > "$WORK/with.screen"
SEEN=$(grep -c "docker" "$WORK/with.screen" || true)
c_w=$(cpu_ticks "$W"); c_o=$(cpu_ticks "$O"); c_h=$(cpu_ticks "$HT"); t0=$(date +%s.%N)
sleep "$IDLE"
d_w=$(( $(cpu_ticks "$W") - c_w )); d_o=$(( $(cpu_ticks "$O") - c_o )); d_h=$(( $(cpu_ticks "$HT") - c_h )); el=$(echo "$(date +%s.%N) - $t0" | bc -l)
f2() { printf '%.2f' "$(echo "$1" | bc -l)"; }
rss() { awk '/VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$1/status"; }
cat > "$WORK/table.md" <<MD
Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, release build, by \`IDLE=$IDLE bench/docker_idle.sh\`:
a private dockerd ($(dockerd --version | sed 's/Docker version \([^,]*\).*/\1/')) holding $N running containers of the project,
the control room following its event stream (its screen named docker on $SEEN line(s): the link and the Ports row), beside the same
control room with \`[docker] url = ""\` and htop, each in tmux at 200×50, nothing changing, over $IDLE s.

| process | CPU (% of one core) | RSS |
|---|---|---|
| control room, Docker followed ($N containers) | $(f2 "100 * $d_w / $TICK / $el") % | $(rss "$W") |
| control room, Docker off | $(f2 "100 * $d_o / $TICK / $el") % | $(rss "$O") |
| htop $(htop --version | head -1 | awk '{print $2}') | $(f2 "100 * $d_h / $TICK / $el") % | $(rss "$HT") |
MD
cat "$WORK/table.md"
python3 bench/put_section.py docker-idle "Docker followed at rest (\`bench/docker_idle.sh\`)" "$WORK/table.md"
