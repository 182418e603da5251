#!/usr/bin/env bash
# One CI load: `ferry migrate` from FERRY_FROM into FERRY_TO (read from the environment,
# so passwords stay off the command line) writing the JSON report, JUnit XML and a
# Markdown summary; then, given a baseline report, the regression gate
# `ferry report compare`. Exit: ferry's (0 ok, 1 rows rejected/differ or the gate failed,
# 2 the run or a report could not be done/read).
#
#   FERRY                  the binary (default: ferry on PATH)
#   FERRY_FROM, FERRY_TO   source and target URLs
#   FERRY_ARGS             more `ferry migrate` flags (e.g. "--jobs 8 --verify content")
#   FERRY_OUT              where report.json, junit.xml, compare.txt and rejects go (ferry-out)
#   FERRY_SUMMARY          Markdown summary file, appended to (default $GITHUB_STEP_SUMMARY,
#                          else FERRY_OUT/summary.md)
#   FERRY_BASELINE         a previous report.json; the gate is skipped when it does not exist
#   FERRY_MAX_SLOWER       allowed wall-time growth (10%)
#   FERRY_MAX_RSS_GROWTH   allowed peak-RSS growth (20%)
set -euo pipefail
ferry="${FERRY:-ferry}"
out="${FERRY_OUT:-ferry-out}"
mkdir -p "$out"
summary="${FERRY_SUMMARY:-${GITHUB_STEP_SUMMARY:-$out/summary.md}}"
: "${FERRY_FROM:?set FERRY_FROM to the source URL}"
: "${FERRY_TO:?set FERRY_TO to the target URL}"
export FERRY_FROM FERRY_TO

# shellcheck disable=SC2086
"$ferry" migrate --json "$out/report.json" --junit "$out/junit.xml" \
  --summary-md "$summary" --reject-dir "$out" ${FERRY_ARGS:-}

if [ -z "${FERRY_BASELINE:-}" ]; then
  exit 0
fi
if [ ! -f "$FERRY_BASELINE" ]; then
  echo "no baseline report at $FERRY_BASELINE: the gate is skipped; $out/report.json can be the next one"
  exit 0
fi
status=0
"$ferry" report compare "$FERRY_BASELINE" "$out/report.json" \
  --max-slower "${FERRY_MAX_SLOWER:-10%}" --max-rss-growth "${FERRY_MAX_RSS_GROWTH:-20%}" \
  >"$out/compare.txt" || status=$?
cat "$out/compare.txt"
{
  echo "#### ferry report compare (baseline: $FERRY_BASELINE)"
  echo
  echo '```'
  cat "$out/compare.txt"
  echo '```'
  echo
} >>"$summary"
exit "$status"
