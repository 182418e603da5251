#!/usr/bin/env bash
# Replication apply rate: ferry beside `mariadb-binlog | mariadb` replaying the same binlog
# window, on the loopback servers of scripts/servers.sh (mysql-binlog as the source, the
# plain MariaDB and PostgreSQL as targets).
#
#   benches/peers/replicate.sh [N]      # N small source transactions (default 50000)
#
# Steps: a source table with 1000 rows is copied by `ferry migrate --replicate` (stopped
# once the copy is complete), and also into a third database for the peer. Then N
# single-row transactions (inserts, updates, deletes, round robin) run on the source. The
# peer replays exactly that binlog window with `mariadb-binlog --rewrite-db | mariadb`;
# ferry drains it with `ferry cutover` (its JSON gives the drain time; the cutover also
# verifies every value). A native MariaDB replica (scripts/servers.sh start mysql-replica)
# applies the same window from the same copy (START SLAVE UNTIL the window's end). Prints
# one CSV line per run: tool,target,changes,seconds,changes/s.
# FERRY_BIN defaults to target/release/ferry.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-50000}
FERRY_BIN=${FERRY_BIN:-target/release/ferry}
eval "$(scripts/servers.sh env)"
PW=${FERRY_TEST_PASSWORD:-ferrytest}
ROOT=${FERRY_TEST_ROOT:-/tmp/ferry-test}
MYBIN_PORT=${FERRY_MYBIN_PORT:-53311}
MYREPL_PORT=${FERRY_MYREPL_PORT:-53312}
MY_PORT=${FERRY_MY_PORT:-53309}
PG_PORT=${FERRY_PG_PORT:-55439}
SRC=ferry_bench_repl_src
my() { mariadb -h 127.0.0.1 -P "$1" -u root -p"$PW" "${@:2}"; }
pg() { PGPASSWORD=$PW psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

my "$MYBIN_PORT" -e "DROP DATABASE IF EXISTS $SRC; CREATE DATABASE $SRC;
  CREATE TABLE $SRC.events (id bigint NOT NULL PRIMARY KEY, account int NOT NULL,
    amount decimal(12,2) NOT NULL, note varchar(64), at datetime(6) NOT NULL) ENGINE=InnoDB;"
seq 1 1000 | awk '{printf "INSERT INTO events VALUES (%d, %d, %d.25, \"seed\", \"2024-01-01 00:00:00\");\n", $1, $1 % 97, $1}' \
  | my "$MYBIN_PORT" "$SRC"
for db in ferry_bench_repl_my ferry_bench_repl_peer; do
  my "$MY_PORT" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
done
pg -c "DROP DATABASE IF EXISTS ferry_bench_repl_pg" -c "CREATE DATABASE ferry_bench_repl_pg"
SRC_URL="mysql://root:$PW@127.0.0.1:$MYBIN_PORT/$SRC"
MY_URL="mysql://root:$PW@127.0.0.1:$MY_PORT/ferry_bench_repl_my"
PEER_URL="mysql://root:$PW@127.0.0.1:$MY_PORT/ferry_bench_repl_peer"
PG_URL="postgres://postgres:$PW@127.0.0.1:$PG_PORT/ferry_bench_repl_pg"

# Copy with the snapshot's position recorded; stop once the copy is complete.
copy() {
  "$FERRY_BIN" migrate --from "$SRC_URL" --to "$1" --replicate 2>"$tmp/copy.log" &
  local pid=$!
  for _ in $(seq 1 600); do grep -q "copy complete" "$tmp/copy.log" && break; sleep 0.1; done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
copy "$MY_URL"
copy "$PG_URL"
"$FERRY_BIN" migrate --from "$SRC_URL" --to "$PEER_URL" >/dev/null 2>&1
# The native replica (scripts/servers.sh start mysql-replica) starts from the same copy.
my "$MYREPL_PORT" -e "STOP SLAVE; RESET SLAVE ALL; DROP DATABASE IF EXISTS $SRC; CREATE DATABASE $SRC"
"$FERRY_BIN" migrate --from "$SRC_URL" --to "mysql://root:$PW@127.0.0.1:$MYREPL_PORT/$SRC" >/dev/null 2>&1

read -r FILE START < <(my "$MYBIN_PORT" -N -e "SHOW MASTER STATUS" | awk '{print $1, $2}')
awk -v n="$N" 'BEGIN {
  for (i = 1; i <= n; i++) {
    k = i % 3; id = 1000 + i;
    if (k == 0) printf "INSERT INTO events VALUES (%d, %d, %d.50, \"n%d\", NOW(6));\n", id, i % 97, i % 1000, i;
    else if (k == 1) printf "UPDATE events SET amount = amount + 1, at = NOW(6) WHERE id = %d;\n", 1 + i % 1000;
    else printf "DELETE FROM events WHERE id = %d;\n", id - 2;
  } }' > "$tmp/work.sql"
my "$MYBIN_PORT" "$SRC" < "$tmp/work.sql"
read -r FILE2 STOP < <(my "$MYBIN_PORT" -N -e "SHOW MASTER STATUS" | awk '{print $1, $2}')
[ "$FILE" = "$FILE2" ] || { echo "the binlog rotated during the workload; run again" >&2; exit 1; }

echo "tool,target,changes,seconds,changes_per_s"
t0=$(date +%s.%N)
mariadb-binlog --rewrite-db="$SRC->ferry_bench_repl_peer" --start-position="$START" \
  --stop-position="$STOP" "$ROOT/mysqlbin/data/$FILE" | my "$MY_PORT"
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { s = b - a; printf "mariadb-binlog|mariadb,mysql,%d,%.2f,%.0f\n", n, s, n / s }'

# A native MariaDB replica applying the same window: from START until STOP.
my "$MYREPL_PORT" -e "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$MYBIN_PORT,
  MASTER_USER='root', MASTER_PASSWORD='$PW', MASTER_LOG_FILE='$FILE', MASTER_LOG_POS=$START,
  MASTER_USE_GTID=no; SET GLOBAL replicate_do_db='$SRC'"
t0=$(date +%s.%N)
my "$MYREPL_PORT" -e "START SLAVE UNTIL MASTER_LOG_FILE='$FILE', MASTER_LOG_POS=$STOP"
while :; do
  pos=$(my "$MYREPL_PORT" -e "SHOW SLAVE STATUS\G" | awk '/Exec_Master_Log_Pos/ {print $2}')
  [ "${pos:-0}" -ge "$STOP" ] && break
  sleep 0.02
done
t1=$(date +%s.%N)
my "$MYREPL_PORT" -e "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL replicate_do_db=''; DROP DATABASE IF EXISTS $SRC"
awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { s = b - a; printf "mariadb-replica,mysql,%d,%.2f,%.0f\n", n, s, n / s }'

for target in "mysql:$MY_URL" "postgres:$PG_URL"; do
  name=${target%%:*}; url=${target#*:}
  "$FERRY_BIN" cutover --from "$SRC_URL" --to "$url" --json "$tmp/cut.json" >/dev/null 2>"$tmp/cut.log" \
    || { cat "$tmp/cut.log" >&2; exit 1; }
  python3 - "$tmp/cut.json" "$N" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert r["equal"], "cutover found differences"
s = r["drain_seconds"]
print(f"ferry,{sys.argv[3]},{r['applied']['changes']},{s:.2f},{r['applied']['changes'] / s:.0f}")
PY
done
my "$MYBIN_PORT" -e "DROP DATABASE IF EXISTS $SRC"
for db in ferry_bench_repl_my ferry_bench_repl_peer; do my "$MY_PORT" -e "DROP DATABASE IF EXISTS $db"; done
pg -c "DROP DATABASE IF EXISTS ferry_bench_repl_pg"
