#!/usr/bin/env bash
# Tests the shell steps of the CI action (action.yml) against the loopback servers: install
# (lean, debug, into a scratch root), a first load without a baseline, a second with it
# (the gate passes), and a baseline with different row counts (the gate fails with exit 1).
# Run by scripts/test after the servers are up and their env is set.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${FERRY_TEST_PG:?run scripts/servers.sh env first}"
# Reuse the build's target dir: installing is then a link and a copy.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

work="$(mktemp -d)"
dbs=()
cleanup() {
  for db in "${dbs[@]}"; do psql -q "$FERRY_TEST_PG" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "scripts/ci/test.sh: $*" >&2; exit 1; }

new_db() {
  local name="ferry_ci_$$_$1"
  psql -q "$FERRY_TEST_PG" -c "CREATE DATABASE \"$name\"" >/dev/null
  dbs+=("$name")
  echo "${FERRY_TEST_PG%/*}/$name"
}

FERRY_FEATURES=lean FERRY_ROOT="$work/root" FERRY_INSTALL_FLAGS=--debug scripts/ci/install.sh
export FERRY="$work/root/bin/ferry"
out="$("$FERRY" provision --engine postgres --name x 2>&1 || true)"
grep -q "built without AWS support" <<<"$out" || fail "the lean install should lack AWS: $out"
out="$(FERRY_FEATURES=lean FERRY_ROOT="$work/root" FERRY_INSTALL_FLAGS=--debug scripts/ci/install.sh)"
grep -q "installed and current" <<<"$out" || fail "a second install should keep the current binary: $out"

export FERRY_FROM="sqlite:$PWD/fixtures/chinook/Chinook_Sqlite.sqlite"
export FERRY_SUMMARY="$work/summary.md"

# First load: no baseline yet.
FERRY_TO="$(new_db a)" FERRY_OUT="$work/a" FERRY_BASELINE="$work/none.json" scripts/ci/load.sh
[ "$(grep -c '<testcase ' "$work/a/junit.xml")" = 11 ] || fail "11 test cases expected in junit.xml"
grep -q 'failures="0"' "$work/a/junit.xml" || fail "no failures expected"
grep -q '| \*\*total\*\* (11 tables) | ✅ | 15607 |' "$FERRY_SUMMARY" || fail "summary total"

# Second load, gated on the first (timings of a small load are noise: a wide allowance).
FERRY_TO="$(new_db b)" FERRY_OUT="$work/b" FERRY_BASELINE="$work/a/report.json" \
  FERRY_MAX_SLOWER=100000% FERRY_MAX_RSS_GROWTH=200% scripts/ci/load.sh
grep -q "^ok: same rows" "$work/b/compare.txt" || fail "the gate should pass"
grep -q "ferry report compare" "$FERRY_SUMMARY" || fail "the comparison goes into the summary"

# A baseline that moved one more Track row: the gate fails with exit 1.
sed 's/"rows_written": 3503,/"rows_written": 3504,/' "$work/a/report.json" >"$work/more.json"
status=0
FERRY_TO="$(new_db c)" FERRY_OUT="$work/c" FERRY_BASELINE="$work/more.json" \
  FERRY_MAX_SLOWER=100000% FERRY_MAX_RSS_GROWTH=200% scripts/ci/load.sh >/dev/null || status=$?
[ "$status" = 1 ] || fail "different rows should exit 1, not $status"
grep -q "FAIL: table Track: 3503 rows, the baseline moved 3504" "$work/c/compare.txt" || fail "rows gate message"
echo "CI action steps: ok"
