# Shared by memory.sh and before-after.sh (sourced, not run): the six copy paths over one
# generated dataset on the loopback servers of scripts/servers.sh.
#   six_paths_sources DB BIN   load the SQLite dataset DB into the MariaDB and PostgreSQL sources
#   measure BIN PATH LABEL     one timed run of BIN on PATH, a JSON line appended to $OUT/runs.jsonl
# Needs OUT, FERRY_ARGS and SIX_PATHS_DB (the SQLite dataset) set by the caller.
: "${FERRY_TEST_PG:?eval \"\$(scripts/servers.sh env)\" first}"
: "${FERRY_TEST_MYSQL:?eval \"\$(scripts/servers.sh env)\" first}"
pg_base=${FERRY_TEST_PG%/*}
my_base=${FERRY_TEST_MYSQL%/*}
psql_url() { psql -X -q -v ON_ERROR_STOP=1 "$FERRY_TEST_PG" -c "$1"; }
my_sql() {
    local rest=${my_base#mysql://} ; local cred=${rest%@*} hostport=${rest#*@}
    mariadb -u "${cred%%:*}" -p"${cred#*:}" -h "${hostport%:*}" -P "${hostport#*:}" -e "$1"
}
fresh_pg() { psql_url "DROP DATABASE IF EXISTS $1" ; psql_url "CREATE DATABASE $1"; }
fresh_my() { my_sql "DROP DATABASE IF EXISTS $1; CREATE DATABASE $1"; }

# The MySQL and PostgreSQL sources hold the same data as the SQLite file, loaded by ferry.
six_paths_sources() {
    local db=$1 bin=$2
    fresh_my ferry_mem_src
    "$bin" migrate --from "sqlite://$db" --to "$my_base/ferry_mem_src" --jobs 4 >/dev/null
    fresh_pg ferry_mem_src
    "$bin" migrate --from "sqlite://$db" --to "$pg_base/ferry_mem_src" --jobs 4 >/dev/null
}

six_paths_drop() {
    my_sql "DROP DATABASE IF EXISTS ferry_mem_src; DROP DATABASE IF EXISTS ferry_mem_dst"
    psql_url "DROP DATABASE IF EXISTS ferry_mem_src"; psql_url "DROP DATABASE IF EXISTS ferry_mem_dst"
}

# One measured run into a fresh target: binary, path id, a label for the run.
measure() {
    local bin=$1 path=$2 label=$3 db=ferry_mem_dst from to kind
    case $path in
        sqlite-*) from="sqlite://$SIX_PATHS_DB" ;;
        mysql-*) from="$my_base/ferry_mem_src" ;;
        pg-*) from="$pg_base/ferry_mem_src" ;;
    esac
    kind=${path#*-}
    if [[ $kind == pg ]]; then fresh_pg $db; to=$pg_base/$db; else fresh_my $db; to=$my_base/$db; fi
    # shellcheck disable=SC2086
    /usr/bin/time -f '%M %e' -o "$OUT/time" "$bin" migrate --from "$from" --to "$to" \
        $FERRY_ARGS --json "$OUT/$path-$label.json" >"$OUT/$path-$label.log" 2>&1
    read -r kb secs <"$OUT/time"
    local rows
    rows=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["rows_written"])' "$OUT/$path-$label.json")
    printf '{"path":"%s","label":"%s","rows":%s,"peak_rss_kib":%s,"wall_s":%s}\n' \
        "$path" "$label" "$rows" "$kb" "$secs" | tee -a "$OUT/runs.jsonl"
}
