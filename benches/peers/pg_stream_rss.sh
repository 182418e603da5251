#!/usr/bin/env bash
# Peak RSS of `ferry replicate` applying ONE streamed PostgreSQL transaction of N wide rows
# (256-byte text each) into PostgreSQL: the source streams it in progress (pgoutput protocol 2,
# logical_decoding_work_mem 64kB for this session only), ferry keeps it in its spill file
# and applies it after the commit. Memory must not follow N.
#
#   eval "$(scripts/servers.sh env)"
#   benches/peers/pg_stream_rss.sh 50000; benches/peers/pg_stream_rss.sh 500000
#
# FERRY_BIN (default target/debug/ferry) and WORK_MEM (default 64kB) choose what runs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${1:-50000}
FERRY_BIN=${FERRY_BIN:-$here/target/debug/ferry}
: "${FERRY_TEST_PG:?eval \"\$(scripts/servers.sh env)\" first}"
export FERRY_TEST_LOGICAL_DECODING_WORK_MEM=${WORK_MEM:-64kB}
base=${FERRY_TEST_PG%/*}
src=rss_stream_src_$$; dst=rss_stream_dst_$$
log=$(mktemp /tmp/ferry-stream-rss.XXXXXX)
q() { psql "$base/$1" -qAt -c "$2"; }
cleanup() {
    q postgres "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '$src'" >/dev/null || true
    q postgres "DROP DATABASE IF EXISTS $src WITH (FORCE)" >/dev/null || true
    q postgres "DROP DATABASE IF EXISTS $dst WITH (FORCE)" >/dev/null || true
    rm -f "$log" "$log.time"
}
trap cleanup EXIT
q postgres "CREATE DATABASE $src" >/dev/null
q postgres "CREATE DATABASE $dst" >/dev/null
q "$src" "CREATE TABLE big (id bigint PRIMARY KEY, payload text NOT NULL, n int)" >/dev/null
"$FERRY_BIN" migrate --from "$base/$src" --to "$base/$dst" --replicate >"$log" 2>&1 &
m=$!
until grep -q "copy complete" "$log"; do sleep 0.5; done
kill -9 $m; wait $m 2>/dev/null || true
q "$src" "INSERT INTO big SELECT g, repeat(md5(g::text), 8), g FROM generate_series(1, $N) g" >/dev/null
start=$(date +%s)
/usr/bin/time -f "%M" -o "$log.time" "$FERRY_BIN" replicate --from "$base/$src" --to "$base/$dst" >>"$log" 2>&1 &
t=$!
until [ "$(q "$dst" "SELECT count(*) FROM big")" = "$N" ]; do sleep 1; done
secs=$(( $(date +%s) - start ))
stats=$(q postgres "SELECT stream_txns || ' streamed transaction(s), ' || stream_count || ' blocks, ' || pg_size_pretty(stream_bytes) FROM pg_stat_replication_slots s JOIN pg_replication_slots r USING (slot_name) WHERE r.database = '$src'")
kill -TERM "$(pgrep -P $t)"; wait $t 2>/dev/null || true
echo "rows=$N applied_s=$secs peak_rss_kb=$(tail -1 "$log.time") source: $stats"
