#!/usr/bin/env bash
# The runbook's migration of DC1-S3 between two sandbox hosts, called by
# demo.sh once DC1-S3 is stopped. Usage: demo-migrate.sh STORAGEGRID HOST1_ROOT
#
# host1 is demo.sh's sandbox; host2 is a second root whose /dev/mapper
# links to host1's device files, as two hosts see one shared storage.
# Both see the interfaces demo.sh set up (its network namespace).
set -euo pipefail

bin=$1
host1=$2

host2=$(mktemp -d "${TMPDIR:-/tmp}/storagegrid-demo-host2.XXXXXX")
cleanup() {
  "$bin" --root "$host2" --force node stop all >/dev/null 2>&1 || true
  rm -rf "$host2"
}
trap cleanup EXIT

mkdir -p "$host2/etc/storagegrid/nodes" "$host2/dev/mapper"
cp "$host1/etc/storagegrid/storagegrid.toml" "$host2/etc/storagegrid/"
for dev in "$host1"/dev/mapper/sgws-dc1-s3-*; do
  ln -s "$dev" "$host2/dev/mapper/${dev##*/}"
done

# on HOST ARGS...: storagegrid on host1 or host2, echoed as typed there.
on() {
  local host=$1 root
  shift
  root=$host1
  [ "$host" = host2 ] && root=$host2
  printf '%s$ sudo storagegrid' "$host"
  printf ' %q' "$@"
  echo
  "$bin" --root "$root" "$@"
}

section() {
  printf '\n== %s ==\n' "$*"
}

section "Runbook by hand: export DC1-S3 on host1"
on host1 node status all
on host1 node export DC1-S3
on host1 node list

section "Runbook by hand: import, validate and start DC1-S3 on host2"
on host2 node import /dev/mapper/sgws-dc1-s3-var-local
on host2 node validate DC1-S3
on host2 node start DC1-S3
on host2 node status DC1-S3

section "While host2 runs DC1-S3, host1 cannot take it back (exit 5)"
if on host1 node import /dev/mapper/sgws-dc1-s3-var-local; then
  echo "demo: host1 imported a node host2 runs" >&2
  exit 1
fi

section "The same migration automated: DC1-S3 back from host2 to host1"
on host2 node migrate DC1-S3 --to host1 --target-cmd "$bin --root $host1"
on host1 node status all
on host2 node status all
