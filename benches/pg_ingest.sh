#!/usr/bin/env bash
# Durable webhook ingest of the real `dmdesk serve` on PostgreSQL, against
# PostgreSQL's own ceiling measured in the same run: pgbench at the same
# client count with a one-row insert transaction (a ~1 KB row, like a raw
# webhook body). Then two receivers on the same database vs one. Medians of
# RUNS, each run a fresh database; a throwaway cluster with fsync on
# (benches/pg_cluster.sh), never the test cluster.
#
#   cargo bench --bench http_load --no-run && bash benches/pg_ingest.sh
#
# Env: BIN (default target/release/dmdesk), CONNS (64), SECS (5: time bound
# of a measurement), N (20000: request bound of a measurement), RUNS (3),
# TWO (1: also measure two receivers; 0 skips).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/dmdesk}
CONNS=${CONNS:-64}
SECS=${SECS:-5}
N=${N:-20000}
RUNS=${RUNS:-3}
TWO=${TWO:-1}
SECRET=bench-secret
# The load generator (wrk is not on these machines): LOADGEN names a built
# http_load binary, otherwise cargo builds and runs it.
if [ -n "${LOADGEN:-}" ]; then LOAD=("$LOADGEN"); else
  cargo bench -q --bench http_load --no-run
  LOAD=(cargo bench -q --bench http_load --)
fi
source benches/pg_cluster.sh
PGBENCH=${PGBENCH:-$PGBIN/pgbench}

tmp=$(mktemp -d)
pids=()
stop_serves() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; pids=(); }
cleanup() { stop_serves; pg_cleanup; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# serve NAME URL: a receiver on database URL, store dir of its own; its
# port in $port (called directly: a command substitution would wait for
# the background server's stdout).
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

# One request a line: signature TAB body; distinct mids (run tag + index).
gen() {
  python3 - "$1" "$N" "$SECRET" "$tmp/bodies-$1.txt" <<'PY'
import hmac, hashlib, json, sys
run, n, secret, out = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
pad = "Hello, I ordered the seasonal blend last week and wanted to ask when it ships. " * 12
with open(out, "w") as f:
    for i in range(n):
        b = json.dumps({"object": "page", "entry": [{"id": "P1", "time": 1700000000000, "messaging": [
            {"sender": {"id": f"U{i % 5000}"}, "recipient": {"id": "P1"}, "timestamp": 1700000000000 + i,
             "message": {"mid": f"m_{run}_{i}", "text": pad[:1000]}}]}]}, separators=(",", ":"))
        sig = "sha256=" + hmac.new(secret, b.encode(), hashlib.sha256).hexdigest()
        f.write(sig + "\t" + b + "\n")
PY
}

# The applier has applied every logged event (observed in the database).
caught_up() {
  local lag
  lag=$(psql_ -At "$1" -c "SELECT (SELECT coalesce(max(seq),0) FROM events) - coalesce((SELECT value::text::bigint FROM meta WHERE key='ingest_applied'),0)")
  [ "$lag" = 0 ]
}
wait_applied() {
  local t0
  t0=$(date +%s.%N)
  for _ in $(seq 1200); do caught_up "$1" && { python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')"; return; }; sleep 0.1; done
  echo "applier did not catch up within 120 s" >&2; exit 1
}

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# pgbench: tps and p99 (ms) of a one-row insert at $1 clients, in $result.
pgbench_run() {
  local url clients=$1
  url=$(fresh_db pgb)
  psql_ "$url" -c "CREATE TABLE bench_rows (id bigserial PRIMARY KEY, received_ms bigint NOT NULL, body bytea NOT NULL)"
  cat >"$tmp/insert.sql" <<'SQL'
INSERT INTO bench_rows (received_ms, body) VALUES ((extract(epoch from now()) * 1000)::bigint, convert_to(repeat('x', 1200), 'UTF8'));
SQL
  (cd "$tmp" && rm -f pgbench_log.* && "$PGBENCH" -n -c "$clients" -j "$(( clients < 2 ? 1 : 2 ))" -T "$SECS" -f insert.sql -l "$url" >pgbench.out 2>&1) \
    || { cat "$tmp/pgbench.out" >&2; exit 1; }
  local tps p99
  tps=$(awk '/^tps/ {print $3; exit}' "$tmp/pgbench.out")
  p99=$(cat "$tmp"/pgbench_log.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {i=int(NR*0.99+0.999); if (i<1) i=1; printf "%.2f", a[i]/1000}')
  result="$tps $p99"
}

# ingest_run RUN RECEIVERS: 2xx/s, p99 ms, non-2xx+errors, apply catch-up s, in $result.
ingest_run() {
  local run=$1 k=$2 url targets=() line
  url=$(fresh_db "ing_${run}_$k")
  for i in $(seq "$k"); do serve "r${run}_${k}_$i" "$url"; targets+=(--target "127.0.0.1:$port"); done
  line=$("${LOAD[@]}" "${targets[@]}" --bodies "$tmp/bodies-$run.txt" --conns "$CONNS" --count "$N" --secs "$SECS" --threads 1)
  local catch
  catch=$(wait_applied "$url")
  stop_serves
  # Applied a second: every acknowledged event over the load's time plus the
  # applier's catch-up after it (both appliers apply every event with two).
  local aps
  aps=$(python3 -c "print(f'{$(field ok "$line") / ($(field secs "$line") + $catch):.0f}')")
  result="$(field rps "$line") $(field p99_ms "$line") $(( $(field non2xx "$line") + $(field errors "$line") )) $catch $aps"
}

echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), fsync on, port $PGPORT; $CONNS connections, ≤${SECS}s and ≤$N requests a measurement; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-3s | %9s | %8s | %9s | %8s | %5s | %6s | %8s | %9s | %5s | %13s | %8s | %s\n' run "pgbench/s" "pgb p99" "1 recv/s" "p99" ratio "bad" "catch-up" "2 recv/s" "2/1" "applied/s 1|2" "pgbench 1 client/s" load
ratios=(); p99s=(); pgbs=(); ones=(); twos=(); scal=(); pgp=(); pgb1s=()
for run in $(seq "$RUNS"); do
  gen "$run"
  pgbench_run "$CONNS"; read -r pgb pgbp <<<"$result"
  # One client: what commits cost when they are made one after another.
  pgbench_run 1; read -r pgb1 _ <<<"$result"
  ingest_run "$run" 1; read -r one onep bad catch aps1 <<<"$result"
  ratio=$(python3 -c "print(f'{$one/$pgb:.2f}')")
  two=- s=- aps2=-
  if [ "$TWO" = 1 ]; then
    gen "${run}b"
    mv "$tmp/bodies-${run}b.txt" "$tmp/bodies-$run.txt"
    ingest_run "$run" 2; read -r two _ bad2 _ aps2 <<<"$result"
    s=$(python3 -c "print(f'{$two/$one:.2f}')")
    twos+=("$two"); scal+=("$s"); bad=$((bad + bad2))
  fi
  printf '%-3s | %9.0f | %5s ms | %9.0f | %5s ms | %5s | %6s | %6s s | %9s | %5s | %13s | %8.0f | %s\n' "$run" "$pgb" "$pgbp" "$one" "$onep" "$ratio" "$bad" "$catch" "$two" "$s" "$aps1|$aps2" "$pgb1" "$(cut -d' ' -f1 /proc/loadavg)"
  ratios+=("$ratio"); p99s+=("$onep"); pgbs+=("$pgb"); ones+=("$one"); pgp+=("$pgbp"); pgb1s+=("$pgb1")
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
span() { printf '%s\n' "$@" | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {print lo "–" hi}'; }
echo "median: pgbench $(med "${pgbs[@]}")/s (p99 $(med "${pgp[@]}") ms), one receiver $(med "${ones[@]}")/s, ratio $(med "${ratios[@]}") (runs $(span "${ratios[@]}")), p99 $(med "${p99s[@]}") ms; pgbench at 1 client $(med "${pgb1s[@]}")/s"
[ "$TWO" = 1 ] && echo "two receivers: median $(med "${twos[@]}")/s, two/one $(med "${scal[@]}") (runs $(span "${scal[@]}"))"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
