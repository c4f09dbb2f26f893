#!/usr/bin/env bash
# `dmdesk migrate --to postgres` of a populated sled store into an empty
# database of a throwaway cluster (fsync on, benches/pg_cluster.sh): wall
# time and rows a second (messages, and every row the copy wrote), then a
# second run onto the same database (idempotent: adds nothing).
#
#   bash benches/pg_migrate.sh                 # populates 100k conversations / 1M messages first
#   STORE=/path/to/sled/store bash benches/pg_migrate.sh   # reuse a populated store
#
# Env: BIN (default target/release/dmdesk), CONVS (100000), MSGS (1000000),
# STORE (an existing store: not populated again; the migrate only reads it,
# but opening a sled store takes its lock: no other process may hold it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/dmdesk}
CONVS=${CONVS:-100000}
MSGS=${MSGS:-1000000}
source benches/pg_cluster.sh
tmp=$(mktemp -d)
cleanup() { pg_cleanup; rm -rf "$tmp"; }
trap cleanup EXIT
if [ -z "${STORE:-}" ]; then
  STORE=$tmp/store
  echo "populating $CONVS conversations / $MSGS messages ..."
  "$BIN" sim populate --conversations "$CONVS" --messages "$MSGS" --store "$STORE" 2>/dev/null
fi
printf '[store]\npath = "%s"\n' "$STORE" >"$tmp/c.toml"
url=$(fresh_db migrated)
echo "store $(du -sh "$STORE" | cut -f1); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in 1 2; do
  t0=$(date +%s.%N)
  "$BIN" --config "$tmp/c.toml" migrate --to postgres --url "$url" >"$tmp/m$run.out" 2>"$tmp/m$run.err" \
    || { cat "$tmp/m$run.err" >&2; exit 1; }
  t=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")
  msgs=$(psql_ -At "$url" -c "SELECT count(*) FROM messages")
  rows=$(psql_ -At "$url" -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables" )
  echo "run $run: ${t} s wall; messages in the database $msgs ($(python3 -c "print(f'{$msgs/$t:.0f}')") messages/s over this run's wall time), all tables ~$rows rows (pg_stat estimate, $(python3 -c "print(f'{$rows/$t:.0f}')") rows/s); load $(cut -d' ' -f1 /proc/loadavg)"
  cat "$tmp/m$run.out"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
