# Sourced by the PostgreSQL benchmarks: a throwaway cluster of their own
# (data directory under /tmp, a free loopback port, fsync ON: the honest
# figure), stopped and removed when the sourcing script exits. Never the
# test cluster. Sets PGBIN, PGPORT, PGURL (postgres://postgres@127.0.0.1:PORT/postgres)
# and pg_cleanup (call it from the script's EXIT trap).
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$PGBIN/initdb" ] || { echo "needs PostgreSQL server binaries in PGBIN ($PGBIN)" >&2; exit 2; }
PGDATA_DIR=$(mktemp -d /tmp/dmdesk-bench-pg.XXXXXX)
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# initdb and postgres refuse root: run them as the postgres user.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$PGDATA_DIR"
as_pg "$PGBIN/initdb" -D "$PGDATA_DIR/data" -U postgres --auth=trust -E UTF8 >"$PGDATA_DIR/initdb.log" 2>&1 \
  || { cat "$PGDATA_DIR/initdb.log" >&2; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR/data" -l "$PGDATA_DIR/server.log" -w start \
  -o "-p $PGPORT -k $PGDATA_DIR -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=300 -c shared_buffers=256MB" >/dev/null \
  || { cat "$PGDATA_DIR/server.log" >&2; exit 1; }
PGURL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
pg_cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR/data" -m fast -w stop >/dev/null 2>&1
  rm -rf "$PGDATA_DIR"
}
psql_() { PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
# A fresh database per measurement, so runs do not inherit each other's rows.
fresh_db() {
  psql_ "$PGURL" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
  echo "postgres://postgres@127.0.0.1:$PGPORT/$1"
}
