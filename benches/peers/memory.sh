#!/usr/bin/env bash
# Peak RSS of ferry on all six copy paths at 1x and 4x the data (issue 11, part 6: the 4x
# run must peak within 10% of the 1x run). Uses the loopback servers of scripts/servers.sh
# and the generator of ../shared/bench; writes one JSON line per run and a Markdown table.
#
#   eval "$(scripts/servers.sh env)"
#   benches/peers/memory.sh [ROWS_1X] [OUT_DIR]      # default 250000 (4x = 1000000)
#
# FERRY_BIN (default target/release/ferry), FERRY_ARGS (default "--jobs 4 --chunk-rows 50000"),
# MEMORY_PATHS (default all six) choose what runs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROWS=${1:-250000}
OUT=${2:-$(mktemp -d /tmp/ferry-memory.XXXXXX)}
FERRY_BIN=${FERRY_BIN:-$here/target/release/ferry}
FERRY_ARGS=${FERRY_ARGS:-"--jobs 4 --chunk-rows 50000"}
MEMORY_PATHS=${MEMORY_PATHS:-"sqlite-pg sqlite-mysql mysql-pg mysql-mysql pg-pg pg-mysql"}
GEN=${GEN:-$here/../shared/bench/gen_dataset.py}
: "${FERRY_TEST_PG:?eval \"\$(scripts/servers.sh env)\" first}"
: "${FERRY_TEST_MYSQL:?eval \"\$(scripts/servers.sh env)\" first}"
mkdir -p "$OUT"

pg_base=${FERRY_TEST_PG%/*}
my_base=${FERRY_TEST_MYSQL%/*}
psql_url() { psql -X -q -v ON_ERROR_STOP=1 "$FERRY_TEST_PG" -c "$1"; }
my_sql() {
    local rest=${my_base#mysql://} ; local cred=${rest%@*} hostport=${rest#*@}
    mariadb -u "${cred%%:*}" -p"${cred#*:}" -h "${hostport%:*}" -P "${hostport#*:}" -e "$1"
}
fresh_pg() { psql_url "DROP DATABASE IF EXISTS $1" ; psql_url "CREATE DATABASE $1"; }
fresh_my() { my_sql "DROP DATABASE IF EXISTS $1; CREATE DATABASE $1"; }
want() { case " $MEMORY_PATHS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# One measured run: path label, size label, source URL, target kind (pg|mysql).
measure() {
    local path=$1 size=$2 from=$3 kind=$4 db=ferry_mem_dst to
    if [[ $kind == pg ]]; then fresh_pg $db; to=$pg_base/$db; else fresh_my $db; to=$my_base/$db; fi
    # shellcheck disable=SC2086
    /usr/bin/time -f '%M %e' -o "$OUT/time" "$FERRY_BIN" migrate --from "$from" --to "$to" \
        $FERRY_ARGS --json "$OUT/$path-$size.json" >"$OUT/$path-$size.log" 2>&1
    read -r kb secs <"$OUT/time"
    local rows
    rows=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["rows_written"])' "$OUT/$path-$size.json")
    printf '{"path":"%s","size":"%s","rows":%s,"peak_rss_kib":%s,"wall_s":%s}\n' \
        "$path" "$size" "$rows" "$kb" "$secs" | tee -a "$OUT/runs.jsonl"
}

: >"$OUT/runs.jsonl"
for size in 1x 4x; do
    rows=$ROWS; [[ $size == 4x ]] && rows=$((ROWS * 4))
    db="$OUT/src-$size.db"
    [[ -f $db ]] || python3 "$GEN" sqlite --rows "$rows" --out "$db" >/dev/null
    # The MySQL and PostgreSQL sources are the same data, loaded by ferry itself.
    if want mysql-pg || want mysql-mysql; then
        fresh_my ferry_mem_src
        "$FERRY_BIN" migrate --from "sqlite://$db" --to "$my_base/ferry_mem_src" --jobs 4 >/dev/null
    fi
    if want pg-pg || want pg-mysql; then
        fresh_pg ferry_mem_src
        "$FERRY_BIN" migrate --from "sqlite://$db" --to "$pg_base/ferry_mem_src" --jobs 4 >/dev/null
    fi
    want sqlite-pg    && measure sqlite-pg    $size "sqlite://$db"            pg
    want sqlite-mysql && measure sqlite-mysql $size "sqlite://$db"            mysql
    want mysql-pg     && measure mysql-pg     $size "$my_base/ferry_mem_src"  pg
    want mysql-mysql  && measure mysql-mysql  $size "$my_base/ferry_mem_src"  mysql
    want pg-pg        && measure pg-pg        $size "$pg_base/ferry_mem_src"  pg
    want pg-mysql     && measure pg-mysql     $size "$pg_base/ferry_mem_src"  mysql
done
fresh_my ferry_mem_src; my_sql "DROP DATABASE ferry_mem_src; DROP DATABASE IF EXISTS ferry_mem_dst"
psql_url "DROP DATABASE IF EXISTS ferry_mem_src"; psql_url "DROP DATABASE IF EXISTS ferry_mem_dst"

python3 - "$OUT/runs.jsonl" <<'EOF' | tee "$OUT/summary.md"
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in runs:
    by.setdefault(r["path"], {})[r["size"]] = r
print("| path | rows 1x | peak RSS 1x (MiB) | rows 4x | peak RSS 4x (MiB) | 4x / 1x | wall 1x / 4x (s) |")
print("|---|---|---|---|---|---|---|")
worst = 0.0
for path, s in by.items():
    a, b = s.get("1x"), s.get("4x")
    if not a or not b:
        continue
    ratio = b["peak_rss_kib"] / a["peak_rss_kib"]
    worst = max(worst, ratio)
    print(f'| {path} | {a["rows"]:,} | {a["peak_rss_kib"]/1024:.0f} | {b["rows"]:,} | '
          f'{b["peak_rss_kib"]/1024:.0f} | {ratio:.2f} | {a["wall_s"]} / {b["wall_s"]} |')
print(f"\nworst 4x/1x: {worst:.2f}")
EOF
echo "runs and logs in $OUT"
