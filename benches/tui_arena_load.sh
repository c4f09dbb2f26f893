#!/usr/bin/env bash
# The glibc arena cap under webhook load: the real TUI (webhook server on)
# in tmux on STORE, wrk posting distinct signed ~1.2 KB message bodies at
# 64 connections for DUR; runs alternate between the built-in cap
# (mallopt M_ARENA_MAX 2) and glibc's default (MALLOC_ARENA_MAX=16, which
# also makes dmdesk skip its mallopt). Prints req/s, p99, VmRSS before and
# after, VmHWM and the process's CPU seconds per 1,000 requests.
#
#   bash benches/tui_arena_load.sh STORE     # STORE is written to: use a copy
#
# Env: BIN (default target/release/dmdesk), DUR (5s), RUNS (3 per setting).
set -euo pipefail
STORE=${1:?usage: tui_arena_load.sh STORE}
BIN=${BIN:-target/release/dmdesk}
DUR=${DUR:-5s}
RUNS=${RUNS:-3}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
sock=arena$$
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
secret=bench-secret
cat >"$tmp/c.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
app_secret = "$secret"
verify_token = "v"
[store]
path = "$STORE"
[sync]
interval = "off"
TOML
# The request script and body generator of serve_ingest.sh.
sed -n '/^cat >"\$tmp\/post.lua"/,/^LUA$/p' "$here/serve_ingest.sh" | sed '1d;$d' >"$tmp/post.lua"
gen() {
  python3 - "$1" "$2" "$secret" "$3" <<'PY'
import hmac, hashlib, json, sys
run, n, secret, out = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
pad = "Hello, I ordered the seasonal blend last week and wanted to ask when it ships. " * 12
with open(out, "w") as f:
    for i in range(n):
        b = json.dumps({"object": "page", "entry": [{"id": "P1", "time": 1700000000000, "messaging": [
            {"sender": {"id": f"U{i % 5000}"}, "recipient": {"id": "P1"}, "timestamp": 1700000000000 + i,
             "message": {"mid": f"m_arena_{run}_{i}", "text": pad[:1000]}}]}]}, separators=(",", ":"))
        sig = "sha256=" + hmac.new(secret, b.encode(), hashlib.sha256).hexdigest()
        f.write(sig + "\t" + b + "\n")
PY
}
kb() { awk -v k="$1:" '$1==k {print $2}' "/proc/$2/status"; }
cpu() { awk '{printf "%.2f", ($14+$15)/100}' "/proc/$1/stat"; }

echo "TUI + webhook server on $STORE, wrk -t2 -c64 -d$DUR, distinct bodies; load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-22s | %9s | %10s | %10s | %10s | %9s | %s\n' setting "req/s" "p99" "RSS before" "RSS after" "VmHWM" "CPU s/1k req"
for run in $(seq "$RUNS"); do
  for setting in cap2 default16; do
    env=""
    [ "$setting" = default16 ] && env="MALLOC_ARENA_MAX=16"
    gen "$setting$run$$" 200000 "$tmp/bodies.txt"
    tmux -L "$sock" new-session -d -s b -x 120 -y 40 "exec env $env $BIN --config $tmp/c.toml"
    pid=$(tmux -L "$sock" display -p -t b '#{pane_pid}')
    for _ in $(seq 600); do
      tmux -L "$sock" capture-pane -p -t b | grep -q '^│ \(FB\|IG\) ' && break; sleep 0.1
    done
    sleep 3
    r0=$(kb VmRSS "$pid"); c0=$(cpu "$pid")
    wrk -t2 -c64 -d"$DUR" --latency -s "$tmp/post.lua" "http://127.0.0.1:$port/webhook" -- "$tmp/bodies.txt" 2 >"$tmp/w.txt"
    r1=$(kb VmRSS "$pid"); c1=$(cpu "$pid"); hwm=$(kb VmHWM "$pid")
    read -r rps p99 n < <(awk '/Requests\/sec/ {r=$2} /^ +99%/ {p=$2} / requests in / {n=$1} END {print r, p, n}' "$tmp/w.txt")
    printf '%-22s | %9s | %10s | %7.1f MB | %7.1f MB | %6.1f MB | %s\n' "$setting (run $run)" "$rps" "$p99" \
      "$(echo "$r0/1024" | bc -l)" "$(echo "$r1/1024" | bc -l)" "$(echo "$hwm/1024" | bc -l)" \
      "$(python3 -c "print(f'{($c1-$c0)/$n*1000:.2f}')")"
    # Quit only once the applier has caught up (the next start would apply the rest first).
    for _ in $(seq 1200); do
      lag=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '$1=="dmdesk_apply_lag_events" {print $2}')
      [ "$lag" = 0 ] && break; sleep 0.1
    done
    tmux -L "$sock" send-keys -t b q
    for _ in $(seq 600); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
    tmux -L "$sock" kill-server 2>/dev/null || true
  done
done
echo "load $(cut -d' ' -f1 /proc/loadavg)"
