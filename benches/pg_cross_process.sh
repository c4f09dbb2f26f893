#!/usr/bin/env bash
# A webhook acknowledged by process A reaches a client attached to process B
# (two `dmdesk serve` on one PostgreSQL database; the client is subscribed on
# B's control socket): latency from A's 200 to the client reading the update
# that names the new message. SAMPLES webhooks, spaced GAP_MS apart (one at
# a time: the figure is the latency of the path, not of a queue), each to a
# new customer so every update is distinct. Medians of RUNS runs' p50/p99.
# A throwaway cluster with fsync on (benches/pg_cluster.sh).
#
#   bash benches/pg_cross_process.sh
#
# Env: BIN (default target/release/dmdesk), SAMPLES (200), GAP_MS (50), RUNS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/dmdesk}
SAMPLES=${SAMPLES:-200}
GAP_MS=${GAP_MS:-50}
RUNS=${RUNS:-3}
SECRET=bench-secret
source benches/pg_cluster.sh
tmp=$(mktemp -d)
pids=()
stop_serves() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; pids=(); }
cleanup() { stop_serves; pg_cleanup; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
serve() {
  local name=$1 url=$2
  port=$(free_port)
  cat >"$tmp/$name.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
app_secret = "$SECRET"
verify_token = "v"
[store]
path = "$tmp/$name"
backend = "postgres"
url_env = "DMDESK_PG"
[sync]
interval = "off"
TOML
  DMDESK_PG=$url "$BIN" --config "$tmp/$name.toml" serve >"$tmp/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$tmp/$name.log" >&2; exit 1; }
}

echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), fsync on; $SAMPLES webhooks ${GAP_MS} ms apart a run; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
p50s=(); p99s=()
for run in $(seq "$RUNS"); do
  url=$(fresh_db "xp_$run")
  serve "a$run" "$url"; pa=$port
  serve "b$run" "$url"
  line=$(python3 - "$pa" "$tmp/b$run/control.sock" "$SECRET" "$SAMPLES" "$GAP_MS" "$run" <<'PY'
import hashlib, hmac, http.client, json, socket, sys, threading, time
port, sock_path, secret, n, gap, run = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode(), int(sys.argv[4]), int(sys.argv[5]) / 1000, sys.argv[6]
# The attached client: hello, subscribe, then read frames; note when each
# sample's mid (or its customer, in a digest) first appears.
s = socket.socket(socket.AF_UNIX)
s.connect(sock_path)
s.sendall(b'{"id":1,"op":"hello","version":4}\n{"id":2,"op":"subscribe"}\n')
seen, lock = {}, threading.Lock()
keys = {}
def reader():
    buf = b""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            return
        buf += chunk
        *lines, buf = buf.split(b"\n")
        now = time.monotonic()
        for line in lines:
            if b'"error"' in line[:40]:
                print("control error: " + line.decode()[:300], file=sys.stderr)
            with lock:
                for i, (mid, user) in list(keys.items()):
                    if i not in seen and (mid in line or user in line):
                        seen[i] = now
threading.Thread(target=reader, daemon=True).start()
time.sleep(0.5)  # the subscription is in place (the hello's reply comes first)
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
lat, acked = [], {}
for i in range(n):
    mid, user = f"m_xp{run}_{i}", f"Uxp{run}x{i}"
    ts = int(time.time() * 1000)
    body = json.dumps({"object": "page", "entry": [{"id": "P1", "time": ts, "messaging": [
        {"sender": {"id": user}, "recipient": {"id": "P1"}, "timestamp": ts,
         "message": {"mid": mid, "text": f"latency sample {i}"}}]}]}, separators=(",", ":")).encode()
    with lock:
        keys[i] = (f'"{mid}"'.encode(), f'"{user}"'.encode())
    sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    conn.request("POST", "/webhook", body, {"Content-Type": "application/json", "X-Hub-Signature-256": sig})
    r = conn.getresponse(); r.read()
    t200 = time.monotonic()
    if r.status != 200:
        print(f"webhook {i}: {r.status}", file=sys.stderr); sys.exit(1)
    acked[i] = t200
    time.sleep(gap)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    with lock:
        if len(seen) == n: break
    time.sleep(0.05)
missing = n - len(seen)
lat = sorted(max(0.0, seen[i] - acked[i]) * 1000 for i in seen)
pct = lambda p: lat[min(len(lat) - 1, max(0, int(len(lat) * p + 0.999) - 1))] if lat else float("nan")
print(f"n={len(lat)} missing={missing} p50_ms={pct(0.5):.1f} p99_ms={pct(0.99):.1f} max_ms={lat[-1] if lat else float('nan'):.1f}")
PY
)
  stop_serves
  echo "run $run: $line  load $(cut -d' ' -f1 /proc/loadavg)"
  p50s+=("$(sed -n 's/.*p50_ms=\([^ ]*\).*/\1/p' <<<"$line")"); p99s+=("$(sed -n 's/.*p99_ms=\([^ ]*\).*/\1/p' <<<"$line")")
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median of $RUNS runs: p50 $(med "${p50s[@]}") ms, p99 $(med "${p99s[@]}") ms (goal p99 ≤ 100 ms); load after: $(cut -d' ' -f1-3 /proc/loadavg)"
