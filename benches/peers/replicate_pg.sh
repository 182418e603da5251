#!/usr/bin/env bash
# Replication apply rate from a PostgreSQL source (logical replication): ferry into
# PostgreSQL and into MariaDB, beside PostgreSQL's own subscription applying the same
# changes, and `pgcopydb clone --follow` when pgcopydb is installed (../shared/bench).
#
#   benches/peers/replicate_pg.sh [N]      # N small source transactions (default 50000)
#
# Steps: a source table with 1000 rows is copied by `ferry migrate --replicate` (stopped once
# the copy is complete) into each target; a native subscription (its own slot, created
# first, copy_data = false on a copy of the table) and pgcopydb's follow start from the same
# state. Then N single-row transactions (inserts, updates, deletes, round robin) run on the
# source. ferry drains them with `ferry cutover` (its JSON gives the drain time; the cutover
# also verifies every value and drops ferry's slot); the subscription is timed until its slot
# confirms the source's WAL end. Prints one CSV line per run: tool,target,changes,seconds,
# changes/s. FERRY_BIN defaults to target/release/ferry.
#
# pgcopydb (apt-get install pgcopydb postgresql-15-wal2json) gets its own copy of the table and
# its slot, origin and sentinel from `pgcopydb stream setup` before the workload; it is timed
# from the start of `pgcopydb follow` until its target table equals the source's (pgcopydb 0.10
# sometimes keeps running past --endpos, so the script stops it).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-50000}
FERRY_BIN=${FERRY_BIN:-target/release/ferry}
eval "$(scripts/servers.sh env)"
PW=${FERRY_TEST_PASSWORD:-ferrytest}
MY_PORT=${FERRY_MY_PORT:-53309}
PG_PORT=${FERRY_PG_PORT:-55439}
SRC=ferry_bench_pgrepl_src
my() { mariadb -h 127.0.0.1 -P "$1" -u root -p"$PW" "${@:2}"; }
pg() { PGPASSWORD=$PW psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
tmp=$(mktemp -d)
cleanup() {
  if [ -n "${PGC_PID:-}" ]; then kill "$PGC_PID" 2>/dev/null || true; wait "$PGC_PID" 2>/dev/null || true; fi
  pg -d "$SRC" -tAc "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
    WHERE database = '$SRC' AND NOT active" >/dev/null 2>&1 || true
  pg -d ferry_bench_pgrepl_sub -c "ALTER SUBSCRIPTION bench_sub DISABLE" \
    -c "ALTER SUBSCRIPTION bench_sub SET (slot_name = NONE)" -c "DROP SUBSCRIPTION bench_sub" \
    >/dev/null 2>&1 || true
  pg -tAc "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin
    WHERE roname = 'ferry_bench_pgc'" >/dev/null 2>&1 || true
  for db in "$SRC" ferry_bench_pgrepl_pg ferry_bench_pgrepl_sub ferry_bench_pgrepl_pgc; do
    pg -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  my "$MY_PORT" -e "DROP DATABASE IF EXISTS ferry_bench_pgrepl_my" || true
  rm -rf "$tmp"
}
trap cleanup EXIT

pg -c "DROP DATABASE IF EXISTS $SRC" -c "CREATE DATABASE $SRC"
pg -d "$SRC" -c "CREATE TABLE events (id bigint PRIMARY KEY, account int NOT NULL,
    amount numeric(12,2) NOT NULL, note varchar(64), at timestamptz NOT NULL);
  INSERT INTO events SELECT g, g % 97, g + 0.25, 'seed', '2024-01-01 00:00+00'
    FROM generate_series(1, 1000) g;"
pg -c "DROP DATABASE IF EXISTS ferry_bench_pgrepl_pg" -c "CREATE DATABASE ferry_bench_pgrepl_pg"
pg -c "DROP DATABASE IF EXISTS ferry_bench_pgrepl_sub" -c "CREATE DATABASE ferry_bench_pgrepl_sub"
my "$MY_PORT" -e "DROP DATABASE IF EXISTS ferry_bench_pgrepl_my; CREATE DATABASE ferry_bench_pgrepl_my"
SRC_URL="postgres://postgres:$PW@127.0.0.1:$PG_PORT/$SRC"
PG_URL="postgres://postgres:$PW@127.0.0.1:$PG_PORT/ferry_bench_pgrepl_pg"
MY_URL="mysql://root:$PW@127.0.0.1:$MY_PORT/ferry_bench_pgrepl_my"

# Copy with the slot's snapshot recorded; stop once the copy is complete (the slot stays).
copy() {
  "$FERRY_BIN" migrate --from "$SRC_URL" --to "$1" --replicate >/dev/null 2>"$tmp/copy.log" &
  local pid=$!
  for _ in $(seq 1 600); do grep -q "copy complete" "$tmp/copy.log" && break; sleep 0.1; done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
copy "$PG_URL"
copy "$MY_URL"

# The native peer: the same table and rows, then a subscription from now on. Its slot is
# made first (a subscription in the same cluster cannot create its own).
pg -d ferry_bench_pgrepl_sub -c "CREATE TABLE events (id bigint PRIMARY KEY, account int NOT NULL,
    amount numeric(12,2) NOT NULL, note varchar(64), at timestamptz NOT NULL)"
pg -d "$SRC" -c "COPY events TO STDOUT" | pg -d ferry_bench_pgrepl_sub -c "COPY events FROM STDIN"
pg -d "$SRC" -c "CREATE PUBLICATION bench_pub FOR TABLE events" \
  -c "SELECT pg_create_logical_replication_slot('bench_sub', 'pgoutput')" >/dev/null
pg -d ferry_bench_pgrepl_sub -c "CREATE SUBSCRIPTION bench_sub
  CONNECTION 'host=127.0.0.1 port=$PG_PORT user=postgres password=$PW dbname=$SRC'
  PUBLICATION bench_pub WITH (create_slot = false, slot_name = 'bench_sub', copy_data = false, enabled = false)"

# pgcopydb: the same table and rows, and its slot (wal2json), origin and sentinel.
PGC=""
PGC_NAMES="--slot-name ferry_bench_pgc --origin ferry_bench_pgc"
if command -v pgcopydb >/dev/null && [ -e "$(pg_config --pkglibdir 2>/dev/null)/wal2json.so" ]; then
  PGC="postgres://postgres:$PW@127.0.0.1:$PG_PORT/ferry_bench_pgrepl_pgc"
  pg -c "DROP DATABASE IF EXISTS ferry_bench_pgrepl_pgc" -c "CREATE DATABASE ferry_bench_pgrepl_pgc"
  pg -d ferry_bench_pgrepl_pgc -c "CREATE TABLE events (id bigint PRIMARY KEY, account int NOT NULL,
      amount numeric(12,2) NOT NULL, note varchar(64), at timestamptz NOT NULL)"
  pg -d "$SRC" -c "COPY events TO STDOUT" | pg -d ferry_bench_pgrepl_pgc -c "COPY events FROM STDIN"
  pgcopydb stream setup --source "$SRC_URL" --target "$PGC" --dir "$tmp/pgcopydb" $PGC_NAMES >"$tmp/pgc.log" 2>&1 \
    || { cat "$tmp/pgc.log" >&2; exit 1; }
else
  echo "pgcopydb or wal2json is not installed (apt-get install pgcopydb postgresql-15-wal2json): no pgcopydb line" >&2
fi

awk -v n="$N" 'BEGIN {
  for (i = 1; i <= n; i++) {
    k = i % 3; id = 1000 + i;
    if (k == 0) printf "INSERT INTO events VALUES (%d, %d, %d.50, '"'"'n%d'"'"', now());\n", id, i % 97, i % 1000, i;
    else if (k == 1) printf "UPDATE events SET amount = amount + 1, at = now() WHERE id = %d;\n", 1 + i % 1000;
    else printf "DELETE FROM events WHERE id = %d;\n", id - 2;
  } }' > "$tmp/work.sql"
pg -d "$SRC" -f "$tmp/work.sql" >/dev/null
END_LSN=$(pg -d "$SRC" -tAc "SELECT pg_current_wal_lsn()")

echo "tool,target,changes,seconds,changes_per_s"
t0=$(date +%s.%N)
pg -d ferry_bench_pgrepl_sub -c "ALTER SUBSCRIPTION bench_sub ENABLE"
until [ "$(pg -d "$SRC" -tAc "SELECT coalesce(confirmed_flush_lsn >= '$END_LSN', false)
    FROM pg_replication_slots WHERE slot_name = 'bench_sub'")" = t ]; do sleep 0.05; done
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { s = b - a; printf "subscription,postgres,%d,%.2f,%.0f\n", n, s, n / s }'
pg -d ferry_bench_pgrepl_sub -c "ALTER SUBSCRIPTION bench_sub DISABLE" \
  -c "ALTER SUBSCRIPTION bench_sub SET (slot_name = NONE)" -c "DROP SUBSCRIPTION bench_sub"
pg -d "$SRC" -c "SELECT pg_drop_replication_slot('bench_sub')" -c "DROP PUBLICATION bench_pub" >/dev/null

for target in "postgres:$PG_URL" "mysql:$MY_URL"; do
  name=${target%%:*}; url=${target#*:}
  # pgcopydb's sentinel table is on the source, not in ferry's copy.
  printf '[tables]\nexclude = ["pgcopydb.sentinel"]\n' >"$tmp/ferry.toml"
  [ -n "$PGC" ] || : >"$tmp/ferry.toml"
  "$FERRY_BIN" cutover --from "$SRC_URL" --to "$url" --config "$tmp/ferry.toml" --json "$tmp/cut.json" \
    >/dev/null 2>"$tmp/cut.log" \
    || { cat "$tmp/cut.log" >&2; exit 1; }
  python3 - "$tmp/cut.json" "$N" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert r["equal"], "cutover found differences"
s = r["drain_seconds"]
print(f"ferry,{sys.argv[3]},{r['applied']['changes']},{s:.2f},{r['applied']['changes'] / s:.0f}")
PY
done

if [ -n "$PGC" ]; then
  digest="SELECT md5(string_agg(e::text, ',' ORDER BY id)) FROM events e"
  want=$(pg -d "$SRC" -tAc "$digest")
  { pgcopydb stream sentinel set endpos --source "$SRC_URL" "$END_LSN" \
      && pgcopydb stream sentinel set apply --source "$SRC_URL"; } >>"$tmp/pgc.log" 2>&1 \
    || { cat "$tmp/pgc.log" >&2; exit 1; }
  t0=$(date +%s.%N)
  pgcopydb follow --source "$SRC_URL" --target "$PGC" --dir "$tmp/pgcopydb" $PGC_NAMES --resume \
    --not-consistent >>"$tmp/pgc.log" 2>&1 &
  PGC_PID=$!
  # pgcopydb may stop by itself at the end position: one last look at the table then.
  until [ "$(pg -d ferry_bench_pgrepl_pgc -tAc "$digest")" = "$want" ]; do
    if ! kill -0 "$PGC_PID" 2>/dev/null; then
      wait "$PGC_PID" || true; PGC_PID=""
      [ "$(pg -d ferry_bench_pgrepl_pgc -tAc "$digest")" = "$want" ] && break
      cat "$tmp/pgc.log" >&2; echo "pgcopydb stopped before its target equalled the source" >&2; exit 1
    fi
    sleep 0.05
  done
  t1=$(date +%s.%N)
  if [ -n "$PGC_PID" ]; then kill "$PGC_PID"; wait "$PGC_PID" 2>/dev/null || true; PGC_PID=""; fi
  awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { s = b - a; printf "pgcopydb follow,postgres,%d,%.2f,%.0f\n", n, s, n / s }'
  pgcopydb stream cleanup --source "$SRC_URL" --target "$PGC" --dir "$tmp/pgcopydb" $PGC_NAMES \
    >>"$tmp/pgc.log" 2>&1 || true
fi
