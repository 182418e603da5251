#!/usr/bin/env bash
# Copy and content-verify time per path on ../shared/bench's 1M dataset (2,365,000 rows).
set -u
F=${FERRY_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/target/release/ferry}
PG=postgresql://postgres@127.0.0.1:55432; MY=mysql://root@127.0.0.1:53306
SQLITE=${SQLITE_DB:-/tmp/bench/data/n1000000/source.db}
reset_dst() {
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS dst WITH (FORCE)" -c "CREATE DATABASE dst" >/dev/null 2>&1
  mysql -h127.0.0.1 -P53306 -uroot -e "DROP DATABASE IF EXISTS dst; CREATE DATABASE dst" 2>/dev/null
}
run() { # name from to
  reset_dst
  local s e c v
  s=$(date +%s.%N); /usr/bin/time -f "%M" -o /tmp/vb.rss "$F" migrate --from "$2" --to "$3" --jobs 4 --verify none >/tmp/vb.$1.log 2>&1; c=$?; e=$(date +%s.%N)
  local copy=$(echo "$e - $s" | bc)
  s=$(date +%s.%N); "$F" verify --content --from "$2" --to "$3" --jobs 4 >/tmp/vb.$1.verify.log 2>&1; v=$?; e=$(date +%s.%N)
  local ver=$(echo "$e - $s" | bc)
  printf "%-14s copy %6.2f s (rc %d, rss %s KB)  verify --content %6.2f s (rc %d)  ratio %5.1f%%\n" "$1" "$copy" "$c" "$(cat /tmp/vb.rss)" "$ver" "$v" "$(echo "100 * $ver / $copy" | bc -l)"
}
for p in ${PATHS:-sqlite-pg pg-pg mysql-pg mysql-mysql sqlite-mysql pg-mysql}; do
  case $p in
    sqlite-pg) run $p "sqlite://$SQLITE" "$PG/dst" ;;
    pg-pg) run $p "$PG/src" "$PG/dst" ;;
    mysql-pg) run $p "$MY/src" "$PG/dst" ;;
    mysql-mysql) run $p "$MY/src" "$MY/dst" ;;
    sqlite-mysql) run $p "sqlite://$SQLITE" "$MY/dst" ;;
    pg-mysql) run $p "$PG/src" "$MY/dst" ;;
  esac
done
