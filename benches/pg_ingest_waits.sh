#!/usr/bin/env bash
# What the database's backends wait on while one `dmdesk serve` on
# PostgreSQL takes 64 connections of distinct signed webhooks: 20 samples
# of pg_stat_activity 0.2 s apart, counted by wait event and query. A
# throwaway cluster with fsync on (benches/pg_cluster.sh); bounded (3,000
# requests, 6 s).
#
#   cargo bench --bench http_load --no-run && bash benches/pg_ingest_waits.sh
#
# Env: BIN (default target/release/dmdesk), LOADGEN (a built http_load).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/dmdesk}
if [ -n "${LOADGEN:-}" ]; then LOAD=("$LOADGEN"); else
  cargo bench -q --bench http_load --no-run
  LOAD=(cargo bench -q --bench http_load --)
fi
source benches/pg_cluster.sh
tmp=$(mktemp -d); spid=
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null; pg_cleanup; rm -rf "$tmp"; }
trap cleanup EXIT
url=$(fresh_db waits)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[server]\nlisten = "127.0.0.1:%s"\napp_secret = "bench-secret"\nverify_token = "v"\n[store]\npath = "%s/s"\nbackend = "postgres"\nurl_env = "DMDESK_PG"\n[sync]\ninterval = "off"\n' "$port" "$tmp" >"$tmp/c.toml"
DMDESK_PG=$url "$BIN" --config "$tmp/c.toml" serve >"$tmp/log" 2>&1 &
spid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
python3 - "$tmp/b.txt" <<'PY'
import hmac, hashlib, json, sys
with open(sys.argv[1], "w") as f:
    for i in range(3000):
        b = json.dumps({"object": "page", "entry": [{"id": "P1", "time": 1, "messaging": [
            {"sender": {"id": f"U{i % 500}"}, "recipient": {"id": "P1"}, "timestamp": 1700000000000 + i,
             "message": {"mid": f"m_w_{i}", "text": "x" * 1000}}]}]}, separators=(",", ":"))
        f.write("sha256=" + hmac.new(b"bench-secret", b.encode(), hashlib.sha256).hexdigest() + "\t" + b + "\n")
PY
"${LOAD[@]}" --target "127.0.0.1:$port" --bodies "$tmp/b.txt" --conns 64 --count 3000 --secs 6 >"$tmp/load.txt" &
lp=$!
sleep 1
echo "active backends by wait event and query (20 samples); load $(cut -d' ' -f1 /proc/loadavg)"
for _ in $(seq 20); do
  psql_ -At "$url" -c "SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-') || '  ' || left(regexp_replace(query, '\s+', ' ', 'g'), 40) FROM pg_stat_activity WHERE datname = 'waits' AND pid <> pg_backend_pid() AND state = 'active'"
  sleep 0.2
done | sort | uniq -c | sort -rn | head -12
wait "$lp"
cat "$tmp/load.txt"
