# ferry beside the peers in ../shared/bench (sourced by its peers.sh):
#   cd ../shared/bench && ./peers.sh --extra /work/main/benches/peers/ferry.sh --only 'ferry|pgloader'
#   ./peers.sh --no-builtin --extra /work/main/benches/peers/ferry.sh --repeats 3
# FERRY_BIN (default: this repository's target/release/ferry) and FERRY_PATHS (space-separated
# path ids, default: all) choose what runs.
FERRY_BIN=${FERRY_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/release/ferry}
FERRY_PATHS=${FERRY_PATHS:-"sqlite-pg mysql-pg pg-pg mysql-mysql sqlite-mysql pg-mysql"}
export FERRY_BIN

ferry_path() { case " $FERRY_PATHS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

ferry_path sqlite-pg    && run_peer ferry "sqlite -> pg"    pg    '"$FERRY_BIN" migrate --from "sqlite://$SQLITE_DB" --to "$DST_PG_URL" --jobs 4'
ferry_path mysql-pg     && run_peer ferry "mysql -> pg"     pg    '"$FERRY_BIN" migrate --from "$SRC_MY_URL" --to "$DST_PG_URL" --jobs 4'
ferry_path pg-pg        && run_peer ferry "pg -> pg"        pg    '"$FERRY_BIN" migrate --from "$SRC_PG_URL" --to "$DST_PG_URL" --jobs 4'
ferry_path mysql-mysql  && run_peer ferry "mysql -> mysql"  mysql '"$FERRY_BIN" migrate --from "$SRC_MY_URL" --to "$DST_MY_URL" --jobs 4'
ferry_path sqlite-mysql && run_peer ferry "sqlite -> mysql" mysql '"$FERRY_BIN" migrate --from "sqlite://$SQLITE_DB" --to "$DST_MY_URL" --jobs 4'
ferry_path pg-mysql     && run_peer ferry "pg -> mysql"     mysql '"$FERRY_BIN" migrate --from "$SRC_PG_URL" --to "$DST_MY_URL" --jobs 4'
true
