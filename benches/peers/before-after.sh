#!/usr/bin/env bash
# Two ferry builds on the same six copy paths, interleaved: for each repeat and path, BEFORE
# then AFTER (AFTER then BEFORE on odd repeats), so a machine that gets busier or quieter
# during the run weighs on both alike. Median wall time and peak RSS per path and build, and
# their ratios. Uses the loopback servers of scripts/servers.sh and ../shared/bench's generator.
#
#   eval "$(scripts/servers.sh env)"
#   benches/peers/before-after.sh BEFORE_BIN AFTER_BIN [ROWS] [REPEATS] [OUT_DIR]
#
# ROWS is gen_dataset.py's --rows (default 1000000 = 2.37 M rows over its tables); FERRY_ARGS
# (default "--jobs 4") and PATHS (default all six) choose what runs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BEFORE=${1:?before binary}
AFTER=${2:?after binary}
ROWS=${3:-1000000}
REPEATS=${4:-3}
OUT=${5:-$(mktemp -d /tmp/ferry-before-after.XXXXXX)}
FERRY_ARGS=${FERRY_ARGS:-"--jobs 4"}
PATHS=${PATHS:-"sqlite-pg sqlite-mysql mysql-pg mysql-mysql pg-pg pg-mysql"}
GEN=${GEN:-$here/../shared/bench/gen_dataset.py}
mkdir -p "$OUT"
# shellcheck source=six_paths.sh
source "$here/benches/peers/six_paths.sh"

SIX_PATHS_DB="$OUT/src.db"
[[ -f $SIX_PATHS_DB ]] || python3 "$GEN" sqlite --rows "$ROWS" --out "$SIX_PATHS_DB" >/dev/null
six_paths_sources "$SIX_PATHS_DB" "$AFTER"
: >"$OUT/runs.jsonl"
for ((r = 0; r < REPEATS; r++)); do
    for path in $PATHS; do
        if ((r % 2 == 0)); then order="before after"; else order="after before"; fi
        for which in $order; do
            bin=$BEFORE; [[ $which == after ]] && bin=$AFTER
            measure "$bin" "$path" "$which-$r"
        done
    done
done
six_paths_drop

python3 - "$OUT/runs.jsonl" <<'PY' | tee "$OUT/summary.md"
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in runs:
    which = r["label"].split("-")[0]
    by.setdefault(r["path"], {}).setdefault(which, []).append(r)
print("| path | rows | before wall s (median) | after wall s (median) | after / before | before RSS MiB | after RSS MiB |")
print("|---|---|---|---|---|---|---|")
for path, s in by.items():
    b, a = s["before"], s["after"]
    rows = {r["rows"] for r in b + a}
    assert len(rows) == 1, f"{path}: the builds moved different row counts {rows}"
    bw = statistics.median(float(r["wall_s"]) for r in b)
    aw = statistics.median(float(r["wall_s"]) for r in a)
    brss = statistics.median(r["peak_rss_kib"] for r in b) / 1024
    arss = statistics.median(r["peak_rss_kib"] for r in a) / 1024
    print(f"| {path} | {rows.pop():,} | {bw:.2f} | {aw:.2f} | {aw / bw:.2f} | {brss:.0f} | {arss:.0f} |")
PY
echo "runs and logs in $OUT"
