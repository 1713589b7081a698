#!/usr/bin/env bash
# Archive recovery demo: failed retrievals in generated audit logs, recovered
# against a simulated ADE console (adesim) on a free loopback port, then a
# rerun that sends nothing twice. Usage: demo-archive.sh [path/to/storagegrid]
set -euo pipefail
bin=$(realpath "${1:-bin/storagegrid}")
work=$(mktemp -d)
sim=
cleanup() {
  if [ -n "$sim" ]; then kill -INT "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export STORAGEGRID_ROOT=$work/root
node=13959984

echo "== archive recovery (sandbox root $STORAGEGRID_ROOT)"
logs=$STORAGEGRID_ROOT/var/local/audit/export
mkdir -p "$logs"
# arce CBID RSLT ANID TIME_US: one ARCE audit message.
arce() {
  local t=$(( $4 / 1000000 ))
  printf '%s.%06d [AUDT:[CBID(UI64):0x%s][VLID(UI64):20091127][RSLT(FC32):%s][AVER(UI32):7][ATIM(UI64):%s][ATYP(FC32):ARCE][ANID(UI32):%s][AMID(FC32):ARCI][ATID(UI64):%s]]\n' \
    "$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%S)" $(( $4 % 1000000 )) "$1" "$2" "$4" "$3" "$RANDOM"
}
{
  arce 498D8A1F681F05B3 ARUN $node 1350613602969243
  arce 1B2C3D4E5F607182 SUCS $node 1350613612969243
} > "$logs/2012-10-18.txt"
gzip "$logs/2012-10-18.txt"
{
  arce C1D172940E6C7E12 GERR $node 1350700002969243
  arce 498D8A1F681F05B3 ARUN $node 1350700012969243
  arce 0A1B2C3D4E5F6071 ARUN 12345678 1350700022969243
} > "$logs/2012-10-19.txt"
arce F1D7FBC2B4B0779E ARUN $node 1350786402969243 > "$logs/audit.log"
ls "$logs"

"$bin" archive adesim --listen 127.0.0.1:0 --addr-file "$work/ade.addr" --record "$work/ade.jsonl" --negotiate >/dev/null &
sim=$!
for _ in $(seq 100); do [ -s "$work/ade.addr" ] && break; sleep 0.05; done
ade=$(cat "$work/ade.addr")
echo "== simulated ADE console on $ade"

echo "\$ storagegrid archive recover --node-id $node --dry-run"
"$bin" archive recover --node-id $node --ade "$ade" --dry-run
echo
echo "\$ storagegrid archive recover --node-id $node --yes"
"$bin" archive recover --node-id $node --ade "$ade" --yes
echo
echo "\$ storagegrid archive recover --node-id $node --yes    # rerun: nothing is sent twice"
"$bin" archive recover --node-id $node --ade "$ade" --yes
echo
echo "\$ storagegrid archive journal --node-id $node"
"$bin" archive journal --node-id $node
echo
echo "== commands the console received:"
grep '"event":"received"' "$work/ade.jsonl" | sed 's/.*"command":"\([^"]*\)".*/  \1/'
