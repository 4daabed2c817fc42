# What the bench scripts share; sourced after they set WORK (a temp dir) and SOCK (their
# tmux socket). On exit, every process they started (pids+=(...)) is stopped, their tmux
# server killed and WORK removed.
pids=()
cleanup() {
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
wait_for() { for _ in $(seq 1 200); do eval "$1" && return 0; sleep 0.1; done; echo "timed out waiting for: $1" >&2; return 1; }
