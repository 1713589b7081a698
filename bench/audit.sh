#!/usr/bin/env bash
# bench/audit.sh: the audit performance targets (issues 5 and 14), each
# measured against its baseline in the same run:
#
#   1. Scanning a 1 GiB plain audit.log for failed archive retrievals
#      (ARCE with RSLT ARUN or GERR), structured output (NDJSON): at most
#      1.0x the CPU of
#        grep -F 'ATYP(FC32):ARCE' FILE | grep -E 'RSLT\(FC32\):(ARUN|GERR)'
#   2. The same with --strict (every line parsed): at most 3x.
#   3. The same over 8 gzipped daily files: at most 0.4x zgrep with the same
#      patterns.
#   4. audit sum over 250 MB: at most 3x the grep pipeline on that file.
#   5. Peak RSS of storagegrid under 64 MiB in every run.
#
# Time is CPU time (user + system, from wait4's rusage as GNU time reports
# it) of the measured command alone: storagegrid is timed directly, the
# baseline pipeline through the sh that runs it, whose rusage holds the
# pipeline's processes (and the sh's negligible own). Wall time is printed
# too. Both sides read from the page cache (files are read once before
# timing) and write to a file (grep stops early when writing to
# /dev/null); each side's best of $RUNS runs counts. The match counts must
# agree. Exits non-zero when a target is missed. Data is generated once
# into bench/data (git-ignored; about 1.3 GiB; takes a minute).
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
# The binary make build makes: with ISA-L where libisal-dev is installed
# (gzip inflate about 2.5x as fast), as --version says.
./contrib/scripts/build.sh full "$bin"
echo "bench: $("$bin" --version)"
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

# measure NAME OUT CMD...: runs CMD $RUNS times, its stdout to OUT; sets
# $cpu (best user+system seconds), $secs (that run's wall time) and $rss
# (that run's peak RSS, KiB).
measure() {
  local name=$1 to=$2 best="" bestwall=0 bestrss=0 e u s r c
  shift 2
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %U %S %M' -o "$out/$name.time" "$@" >"$to"
    read -r e u s r <"$out/$name.time"
    c=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}')
    if [ -z "$best" ] || awk -v a="$c" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$c bestwall=$e bestrss=$r; fi
  done
  cpu=$best secs=$bestwall rss=$bestrss
}

fails=0
check() { # check LABEL OK-EXPR
  if awk "BEGIN{exit !($2)}"; then echo "  PASS  $1"; else echo "  FAIL  $1"; fails=$((fails + 1)); fi
}

# compare LABEL BASELINE-CMD TARGET-OP TARGET COUNT-MATCHES SG-ARGS...: times
# the baseline pipeline and storagegrid SG-ARGS, checks counts (when
# COUNT-MATCHES is yes), the CPU ratio and peak RSS.
compare() {
  local label=$1 baseline=$2 op=$3 target=$4 count=$5 b_cpu b_secs s_cpu s_secs s_rss b_n s_n ratio
  shift 5
  echo "== $label"
  measure "$label-baseline" "$out/$label-baseline.txt" sh -c "$baseline"
  b_cpu=$cpu b_secs=$secs baseline_cpu=$cpu
  measure "$label-sg" "$out/$label-sg.out" "$bin" "$@"
  s_cpu=$cpu s_secs=$secs s_rss=$rss
  b_n=$(wc -l <"$out/$label-baseline.txt") s_n=$(wc -l <"$out/$label-sg.out")
  printf '  %-8s pipeline  CPU %6.2f s  wall %6.2f s  %8d lines\n' "${baseline%% *}" "$b_cpu" "$b_secs" "$b_n"
  printf '  storagegrid        CPU %6.2f s  wall %6.2f s  %8d lines  peak RSS %d MiB\n' "$s_cpu" "$s_secs" "$s_n" $((s_rss / 1024))
  ratio=$(awk -v a="$s_cpu" -v b="$b_cpu" 'BEGIN{printf "%.2f", a/b}')
  echo "  CPU ratio storagegrid/${baseline%% *}  $ratio (target $op $target); wall ratio $(awk -v a="$s_secs" -v b="$b_secs" 'BEGIN{printf "%.2f", a/b}')"
  if [ "$count" = yes ]; then check "$label: same matches ($s_n = $b_n)" "$s_n == $b_n"; fi
  check "$label: CPU ratio $ratio $op $target" "$ratio $op $target"
  check "$label: peak RSS $((s_rss / 1024)) MiB < 64 MiB" "$s_rss < 65536"
}

pipeline="grep -F 'ATYP(FC32):ARCE' FILE | grep -E 'RSLT\\(FC32\\):(ARUN|GERR)'"
compare plain "${pipeline//FILE/$plain/audit.log}" "<=" 1.0 yes \
  --output ndjson audit scan --dir "$plain" --type ARCE --result ARUN,GERR
compare strict "${pipeline//FILE/$plain/audit.log}" "<=" 3 yes \
  --output ndjson audit scan --strict --dir "$plain" --type ARCE --result ARUN,GERR
zgrep="zgrep -h -F 'ATYP(FC32):ARCE' $gz/*.txt.gz | grep -E 'RSLT\\(FC32\\):(ARUN|GERR)'"
compare gz "$zgrep" "<=" 0.4 yes \
  --output ndjson audit scan --dir "$gz" --type ARCE --result ARUN,GERR
# For comparison, not a target: the Debian package's static build, which
# inflates with klauspost/compress.
static=bin/storagegrid-static
CGO_ENABLED=0 ISAL=no ./contrib/scripts/build.sh full "$static"
measure gz-static "$out/gz-static.out" "$static" --output ndjson audit scan --dir "$gz" --type ARCE --result ARUN,GERR
printf '  static build (klauspost/compress)  CPU %6.2f s  wall %6.2f s  peak RSS %d MiB; CPU ratio to zgrep %s\n' "$cpu" "$secs" $((rss / 1024)) \
  "$(awk -v a="$cpu" -v b="$baseline_cpu" 'BEGIN{printf "%.2f", a/b}')"
sum=$data/sum.log
if [ ! -s "$sum" ]; then
  head -c 262144000 "$plain/audit.log" | sed '$d' >"$sum" # 250 MB of whole lines
  cat "$sum" >/dev/null
fi
compare sum "${pipeline//FILE/$sum}" "<=" 3 no audit sum "$sum"

if [ "$fails" -gt 0 ]; then
  echo "bench: $fails target(s) missed"
  exit 1
fi
echo "bench: all targets met"
