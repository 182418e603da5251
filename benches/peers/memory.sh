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
mkdir -p "$OUT"
# shellcheck source=six_paths.sh
source "$here/benches/peers/six_paths.sh"

: >"$OUT/runs.jsonl"
for size in 1x 4x; do
    rows=$ROWS; [[ $size == 4x ]] && rows=$((ROWS * 4))
    db="$OUT/src-$size.db"
    [[ -f $db ]] || python3 "$GEN" sqlite --rows "$rows" --out "$db" >/dev/null
    SIX_PATHS_DB=$db
    six_paths_sources "$db" "$FERRY_BIN"
    for path in $MEMORY_PATHS; do measure "$FERRY_BIN" "$path" "$size"; done
done
six_paths_drop

python3 - "$OUT/runs.jsonl" <<'EOF' | tee "$OUT/summary.md"
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in runs:
    by.setdefault(r["path"], {})[r["label"]] = r
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
