#!/usr/bin/env bash
# Replication lag while the source writes at a steady rate, on the loopback servers of
# scripts/servers.sh (mysql-binlog as the source; the plain MariaDB or PostgreSQL as target).
#
#   benches/peers/replicate-lag.sh [ROWS_PER_S] [SECONDS] [TARGET] [SOURCE]
#        # TARGET and SOURCE: mysql or postgres; defaults: 5000 rows/s for 30 s, mysql -> mysql
#
# A MySQL source is mysql-binlog (row binlog); a PostgreSQL source is the PostgreSQL server
# (wal_level=logical), and the run ends with `ferry replicate --stop`, which drops ferry's slot.
#
# `ferry migrate --replicate` copies a 1000-row table and keeps applying. A paced writer then
# sends small transactions of 5 row changes (insert, update, delete, round robin) at ROWS_PER_S for
# SECONDS. Every 0.5 s the lag is sampled: now minus the source commit time of the last
# transaction the target committed (read from the target's `_ferry_replication`). Prints the
# achieved source rate, lag p50/p95/max over the run, and the seconds the applier needed to
# catch up after the writes stopped (until the target's table sums to the source's). FERRY_BIN defaults to target/release/ferry.
set -euo pipefail
cd "$(dirname "$0")/../.."
RATE=${1:-5000}
SECS=${2:-30}
TARGET=${3:-mysql}
SOURCE=${4:-mysql}
FERRY_BIN=${FERRY_BIN:-target/release/ferry}
eval "$(scripts/servers.sh env)"
PW=${FERRY_TEST_PASSWORD:-ferrytest}
MYBIN_PORT=${FERRY_MYBIN_PORT:-53311}
MY_PORT=${FERRY_MY_PORT:-53309}
PG_PORT=${FERRY_PG_PORT:-55439}
SRC=ferry_bench_lag_src
DST=ferry_bench_lag_dst
my() { mariadb -h 127.0.0.1 -P "$1" -u root -p"$PW" "${@:2}"; }
pg() { PGPASSWORD=$PW psql -qAt -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
tmp=$(mktemp -d)
pid=
DST_URL=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  if [ "$SOURCE" = postgres ] && [ -n "$DST_URL" ]; then
    "$FERRY_BIN" replicate --stop --from "$SRC_URL" --to "$DST_URL" >/dev/null 2>&1
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

if [ "$SOURCE" = mysql ]; then
  my "$MYBIN_PORT" -e "DROP DATABASE IF EXISTS $SRC; CREATE DATABASE $SRC;
    CREATE TABLE $SRC.events (id bigint NOT NULL PRIMARY KEY, account int NOT NULL,
      amount decimal(12,2) NOT NULL, note varchar(64), at datetime(6) NOT NULL) ENGINE=InnoDB;
    USE $SRC; INSERT INTO events SELECT seq, seq % 97, seq + 0.25, 'seed', '2024-01-01' FROM seq_1_to_1000;"
  SRC_URL="mysql://root:$PW@127.0.0.1:$MYBIN_PORT/$SRC"
  src() { my "$MYBIN_PORT" -N "$SRC" "$@"; }
  src_text() { src -e "$1"; }
  NOW="NOW(6)"
else
  pg -c "DROP DATABASE IF EXISTS $SRC" -c "CREATE DATABASE $SRC"
  pg -d "$SRC" -c "CREATE TABLE events (id bigint PRIMARY KEY, account int NOT NULL,
      amount numeric(12,2) NOT NULL, note varchar(64), at timestamptz NOT NULL);
    INSERT INTO events SELECT g, g % 97, g + 0.25, 'seed', '2024-01-01 00:00+00'
      FROM generate_series(1, 1000) g;"
  SRC_URL="postgres://postgres:$PW@127.0.0.1:$PG_PORT/$SRC"
  src() { pg -d "$SRC" "$@"; }
  src_text() { src -c "$1"; }
  NOW="now()"
fi
if [ "$TARGET" = mysql ]; then
  my "$MY_PORT" -e "DROP DATABASE IF EXISTS $DST; CREATE DATABASE $DST"
  DST_URL="mysql://root:$PW@127.0.0.1:$MY_PORT/$DST"
  lag_sql="SELECT TIMESTAMPDIFF(MICROSECOND, source_commit, UTC_TIMESTAMP(6)) / 1e6 FROM _ferry_replication WHERE id = 1"
  lag() { my "$MY_PORT" -N "$DST" -e "$lag_sql" 2>/dev/null || true; }
else
  pg -c "DROP DATABASE IF EXISTS $DST" -c "CREATE DATABASE $DST"
  DST_URL="postgres://postgres:$PW@127.0.0.1:$PG_PORT/$DST"
  lag_sql="SELECT extract(epoch FROM clock_timestamp() - source_commit) FROM _ferry_replication WHERE id = 1"
  lag() { pg -d "$DST" -c "$lag_sql" 2>/dev/null || true; }
fi

"$FERRY_BIN" migrate --from "$SRC_URL" --to "$DST_URL" --replicate 2>"$tmp/ferry.log" &
pid=$!
for _ in $(seq 1 600); do grep -q "copy complete" "$tmp/ferry.log" && break; sleep 0.1; done
grep -q "copy complete" "$tmp/ferry.log" || { cat "$tmp/ferry.log" >&2; exit 1; }

# The paced writer: each 10 ms slot gets RATE/100 statements, sent ahead of the clock never.
python3 -c '
import sys, time
rate, secs, now, q = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], chr(39)
per_slot = max(1, rate // 100)
start = time.monotonic(); i = 0; slot = 0
out = sys.stdout
while time.monotonic() - start < secs:
    for _ in range(per_slot):
        if i % 5 == 0: out.write("START TRANSACTION;\n")
        i += 1; k = i % 3; nid = 1000 + i
        if k == 0: out.write(f"INSERT INTO events VALUES ({nid}, {i % 97}, {i % 1000}.50, {q}n{i}{q}, {now});\n")
        elif k == 1: out.write(f"UPDATE events SET amount = amount + 1, at = {now} WHERE id = {1 + i % 1000};\n")
        else: out.write(f"DELETE FROM events WHERE id = {nid - 2};\n")
        if i % 5 == 0: out.write("COMMIT;\n")
    out.flush()
    slot += 1
    wait = start + slot * 0.01 - time.monotonic()
    if wait > 0: time.sleep(wait)
if i % 5: out.write("COMMIT;\n")
print(i, file=sys.stderr)
' "$RATE" "$SECS" "$NOW" 2>"$tmp/written" | src >/dev/null &
writer=$!
t0=$(date +%s.%N)
: >"$tmp/lags"
while kill -0 "$writer" 2>/dev/null; do
  lag >>"$tmp/lags"
  sleep 0.5
done
wait "$writer"
t1=$(date +%s.%N)
# Catch-up: until the target's table sums to the source's.
sum_sql="SELECT CONCAT(COUNT(*), ':', SUM(amount)) FROM events"
want=$(src_text "$sum_sql")
c0=$(date +%s.%N)
for _ in $(seq 1 1200); do
  if [ "$TARGET" = mysql ]; then got=$(my "$MY_PORT" -N "$DST" -e "$sum_sql")
  else got=$(pg -d "$DST" -c "SELECT COUNT(*) || ':' || SUM(amount) FROM events"); fi
  [ "$got" = "$want" ] && break
  sleep 0.05
done
c1=$(date +%s.%N)
written=$(cat "$tmp/written")
python3 - "$tmp/lags" "$written" "$t0" "$t1" "$c0" "$c1" "$TARGET" "$RATE" "$SOURCE" <<'PY'
import sys
lags = sorted(float(x) for x in open(sys.argv[1]).read().split() if x.strip() not in ("", "NULL"))
n = int(sys.argv[2]); t0, t1, c0, c1 = map(float, sys.argv[3:7])
pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] if lags else float("nan")
print("source,target,asked_rows_per_s,achieved_rows_per_s,seconds,lag_p50,lag_p95,lag_max,catch_up_s")
print(f"{sys.argv[9]},{sys.argv[7]},{sys.argv[8]},{n / (t1 - t0):.0f},{t1 - t0:.1f},{pick(0.5):.2f},{pick(0.95):.2f},{lags[-1] if lags else float('nan'):.2f},{c1 - c0:.2f}")
PY
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=
if [ "$SOURCE" = mysql ]; then my "$MYBIN_PORT" -e "DROP DATABASE IF EXISTS $SRC"
else
  "$FERRY_BIN" replicate --stop --from "$SRC_URL" --to "$DST_URL" >/dev/null
  DST_URL=
  pg -c "DROP DATABASE IF EXISTS $SRC"
fi
if [ "$TARGET" = mysql ]; then my "$MY_PORT" -e "DROP DATABASE IF EXISTS $DST"; else pg -c "DROP DATABASE IF EXISTS $DST"; fi
