#!/usr/bin/env bash
# Durable webhook ingest of the real `dmdesk serve` (applier running) against
# GET /healthz of the same server: wrk at 64 connections, distinct signed
# ~1.2 KB message bodies (every request a new mid), medians of 3 runs.
#
#   cargo build --release && bash benches/serve_ingest.sh
#
# Env: BIN (default target/release/dmdesk), CONNS (64), DUR (5s), RUNS (3).
set -euo pipefail
BIN=${BIN:-target/release/dmdesk}
CONNS=${CONNS:-64}
DUR=${DUR:-5s}
RUNS=${RUNS:-3}
THREADS=2
N=${N:-150000} # bodies per run, more than a run posts
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }

tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
secret=bench-secret
cat >"$tmp/c.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
app_secret = "$secret"
verify_token = "v"
[store]
path = "$tmp/store"
[sync]
interval = "off"
TOML
"$BIN" --config "$tmp/c.toml" serve 2>"$tmp/serve.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$tmp/serve.log"; exit 1; }

# One line per request: signature, tab, body.
gen() {
  python3 - "$1" "$2" "$secret" <<'PY'
import hmac, hashlib, json, sys
run, n, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
pad = "Hello, I ordered the seasonal blend last week and wanted to ask when it ships. " * 12
with open(f"bodies-{run}.txt", "w") as f:
    for i in range(n):
        b = json.dumps({"object": "page", "entry": [{"id": "P1", "time": 1700000000000, "messaging": [
            {"sender": {"id": f"U{i % 5000}"}, "recipient": {"id": "P1"}, "timestamp": 1700000000000 + i,
             "message": {"mid": f"m_{run}_{i}", "text": pad[:1000]}}]}]}, separators=(",", ":"))
        sig = "sha256=" + hmac.new(secret, b.encode(), hashlib.sha256).hexdigest()
        f.write(sig + "\t" + b + "\n")
PY
}

cat >"$tmp/post.lua" <<'LUA'
local counter = 0
function setup(thread) thread:set("id", counter); counter = counter + 1 end
function init(args)
  sigs, bodies, i = {}, {}, 0
  local k, n = 0, tonumber(args[2])
  for line in io.lines(args[1]) do
    if k % n == id then
      local tab = line:find("\t", 1, true)
      sigs[#sigs + 1] = line:sub(1, tab - 1)
      bodies[#bodies + 1] = line:sub(tab + 1)
    end
    k = k + 1
  end
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/webhook", {["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = sigs[i]}, bodies[i])
end
LUA

# req/s, p99 in ms and non-2xx count from wrk's --latency output.
parse() {
  awk '/Requests\/sec/ {r=$2} /^ +99%/ {p=$2} /Non-2xx/ {e=$5} END {
    if (p ~ /us$/) {sub(/us$/,"",p); p=p/1000} else if (p ~ /ms$/) {sub(/ms$/,"",p)} else if (p ~ /s$/) {sub(/s$/,"",p); p=p*1000}
    printf "%s %.2f %d\n", r, p, e+0 }' "$1"
}

metric() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v k="$1" '$1==k {print $2}'; }

cd "$tmp"
echo "connections $CONNS, $DUR per measurement, wrk -t$THREADS; machine shared with other builds"
printf '%-4s | %10s | %9s | %12s | %13s | %5s | %8s | %9s | %s\n' run "healthz/s" "hz p99" "durable/s" "durable p99" ratio non-2xx "lag after" "caught up"
ratios=(); p99s=(); hzs=(); ins=()
for run in $(seq "$RUNS"); do
  gen "$run" "$N"
  wrk -t$THREADS -c"$CONNS" -d"$DUR" --latency "http://127.0.0.1:$port/healthz" >"hz-$run.txt"
  wrk -t$THREADS -c"$CONNS" -d"$DUR" --latency -s post.lua "http://127.0.0.1:$port/webhook" -- "bodies-$run.txt" $THREADS >"in-$run.txt"
  read -r hz hzp _ < <(parse "hz-$run.txt")
  read -r ins_ insp bad < <(parse "in-$run.txt")
  lag=$(metric dmdesk_apply_lag_events)
  t_end=$(date +%s.%N)
  ratio=$(python3 -c "print(f'{$ins_/$hz:.2f}')")
  # Let the applier catch up before the next run (observed on /metrics;
  # a binary without the lag gauge, from before the event log, is not waited for).
  caught_up() { local l; l=$(metric dmdesk_apply_lag_events); [ -z "$l" ] || [ "$l" = 0 ]; }
  for _ in $(seq 600); do caught_up && break; sleep 0.1; done
  caught_up || { echo "applier did not catch up within 60 s" >&2; exit 1; }
  catch=$(python3 -c "print(f'{$(date +%s.%N) - $t_end:.1f} s')")
  printf '%-4s | %10.0f | %6.2f ms | %12.0f | %10.2f ms | %5s | %8s | %9s | %s\n' "$run" "$hz" "$hzp" "$ins_" "$insp" "$ratio" "$bad" "$lag" "$catch"
  ratios+=("$ratio"); p99s+=("$insp"); hzs+=("$hz"); ins+=("$ins_")
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median: healthz $(med "${hzs[@]}")/s, durable $(med "${ins[@]}")/s, ratio $(med "${ratios[@]}"), durable p99 $(med "${p99s[@]}") ms"
echo "applied $(metric dmdesk_events_applied_total) of $(metric dmdesk_events_received_total) received; lag $(metric dmdesk_apply_lag_events)"
