#!/usr/bin/env bash
# bench/audit.sh: the audit-scan performance targets of issue 5, measured
# against their baselines in one run.
#
#   1. Scanning a 1 GiB plain audit.log for failed archive retrievals
#      (ARCE with RSLT ARUN or GERR), structured output (NDJSON), takes at
#      most 1.5x the time of
#        grep -F 'ATYP(FC32):ARCE' FILE | grep -E 'RSLT\(FC32\):(ARUN|GERR)'
#   2. The same over 8 gzipped daily files beats zgrep with the same patterns.
#   3. Peak RSS of storagegrid stays under 64 MiB.
#
# Both sides read from the page cache (files are read once before timing),
# write to a file (grep stops early when writing to /dev/null), and each
# side's best of $RUNS runs counts. The match counts must agree. Exits
# non-zero when a target is missed. Data is generated once into bench/data
# (git-ignored; about 1.3 GiB; takes a minute).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SIZE=${SIZE:-1073741824}
data=bench/data/audit
plain=$data/plain
gz=$data/gz
out=$data/out
bin=bin/storagegrid

command -v /usr/bin/time >/dev/null || { echo "bench: installing time"; apt-get install -y -qq time; }
go build -o "$bin" ./cmd/storagegrid
go build -o bin/auditgen ./bench/auditgen
if [ ! -s "$plain/audit.log" ] || [ "$(stat -c %s "$plain/audit.log")" -lt "$SIZE" ]; then
  echo "bench: generating $SIZE bytes into $plain"
  rm -rf "$plain"
  bin/auditgen -size "$SIZE" -days 1 -out "$plain"
fi
if [ "$(ls "$gz"/*.txt.gz 2>/dev/null | wc -l)" -ne 8 ]; then
  echo "bench: generating 8 gzipped daily files ($SIZE bytes uncompressed) into $gz"
  rm -rf "$gz"
  bin/auditgen -size "$SIZE" -days 8 -gzip -seed 2 -out "$gz"
fi
mkdir -p "$out"
cat "$plain/audit.log" "$gz"/*.txt.gz >/dev/null # warm the page cache for both sides

# measure NAME CMD...: runs CMD $RUNS times; sets $secs (best wall time) and
# $rss (peak RSS of that run, KiB).
measure() {
  local name=$1 best="" bestrss=0 t
  shift
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$out/$name.time" "$@"
    read -r t r <"$out/$name.time"
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t bestrss=$r; fi
  done
  secs=$best rss=$bestrss
}

fails=0
check() { # check LABEL OK-EXPR
  if awk "BEGIN{exit !($2)}"; then echo "  PASS  $1"; else echo "  FAIL  $1"; fails=$((fails + 1)); fi
}

# compare LABEL DIR BASELINE-CMD TARGET-OP TARGET: times the baseline pipeline
# and the structured scan of DIR, checks counts, ratio and peak RSS.
compare() {
  local label=$1 dir=$2 baseline=$3 op=$4 target=$5 b_secs s_secs s_rss b_n s_n ratio
  echo "== $label: ARCE with RSLT ARUN/GERR"
  measure "$label-baseline" sh -c "$baseline >$out/$label-baseline.txt"
  b_secs=$secs
  measure "$label-scan" sh -c "$bin --output ndjson audit scan --dir $dir --type ARCE --result ARUN,GERR >$out/$label-scan.ndjson"
  s_secs=$secs s_rss=$rss
  b_n=$(wc -l <"$out/$label-baseline.txt") s_n=$(wc -l <"$out/$label-scan.ndjson")
  printf '  %-8s pipeline %6.2f s  %8d lines\n' "${baseline%% *}" "$b_secs" "$b_n"
  printf '  storagegrid scan  %6.2f s  %8d messages  peak RSS %d MiB\n' "$s_secs" "$s_n" $((s_rss / 1024))
  ratio=$(awk -v a="$s_secs" -v b="$b_secs" 'BEGIN{printf "%.2f", a/b}')
  echo "  ratio scan/${baseline%% *}  $ratio (target $op $target)"
  check "$label: same matches ($s_n = $b_n)" "$s_n == $b_n"
  check "$label: ratio $ratio $op $target" "$ratio $op $target"
  check "$label: peak RSS $((s_rss / 1024)) MiB < 64 MiB" "$s_rss < 65536"
}

compare plain "$plain" "grep -F 'ATYP(FC32):ARCE' $plain/audit.log | grep -E 'RSLT\\(FC32\\):(ARUN|GERR)'" "<=" 1.5
compare gz "$gz" "zgrep -h -F 'ATYP(FC32):ARCE' $gz/*.txt.gz | grep -E 'RSLT\\(FC32\\):(ARUN|GERR)'" "<" 1

if [ "$fails" -gt 0 ]; then
  echo "bench: $fails target(s) missed"
  exit 1
fi
echo "bench: all targets met"
