#!/usr/bin/env bash
# The storagegrid demo: runs the runbook against a sandbox root, no real
# grid needed. Usage: contrib/scripts/demo.sh [path/to/storagegrid]
#
# Each section below is one part of the runbook; later features add their
# own sections. The sandbox lives in a temporary directory that is removed
# at the end, after every node has been stopped.
set -euo pipefail

bin=$(realpath "${1:-bin/storagegrid}")

# validate (and start, which validates first) wants each node's interfaces
# to exist. As root, the demo runs in a private network namespace that has
# the runbook's bond0.1001, as a grid host has; otherwise the nodes' grid
# network is lo.
target=lo
if [ -z "${SG_DEMO_NETNS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null; then
  exec env SG_DEMO_NETNS=1 unshare --net "$0" "$@"
fi
if [ -n "${SG_DEMO_NETNS:-}" ]; then
  ip link set lo up
  ip link add bond0.1001 type veth peer name bond0p
  ip link set bond0p up
  ip link set bond0.1001 up
  # A veth's carrier comes up asynchronously; validate would warn until then.
  for _ in $(seq 300); do ip -o link show dev bond0.1001 | grep -q LOWER_UP && break; sleep 0.01; done
  target=bond0.1001
else
  echo "(not root: no network namespace with bond0.1001; the nodes' grid network is lo)"
fi
root=$(mktemp -d "${TMPDIR:-/tmp}/storagegrid-demo.XXXXXX")
export STORAGEGRID_ROOT=$root

# sg runs storagegrid against the sandbox, echoing the command the way an
# operator would type it on a real host.
sg() {
  echo "\$ sudo storagegrid $*"
  "$bin" "$@"
}

section() {
  printf '\n== %s ==\n' "$*"
}

cleanup() {
  "$bin" --force node stop all >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap cleanup EXIT

# --- Host settings ---------------------------------------------------------
# File-backed block devices are for sandboxes only; a short stop timeout
# keeps the demo quick.
section "Sandbox host in $root"
mkdir -p "$root/etc/storagegrid/nodes" "$root/dev/mapper"
cat >"$root/etc/storagegrid/storagegrid.toml" <<'EOF'
[runtime]
kind = "process"
stop_timeout = "10s"

[devices]
allow_files = true
EOF

# --- Nodes -----------------------------------------------------------------
# device NAME SIZE: a sparse file standing in for /dev/mapper/NAME.
device() {
  truncate -s "$2" "$root/dev/mapper/$1"
}

# node NAME TYPE IP [KEY=VALUE...]: writes /etc/storagegrid/nodes/NAME.conf
# with the keys every node has, then the extra ones.
node() {
  local name=$1 type=$2 ip=$3 lower
  shift 3
  lower=$(echo "$name" | tr '[:upper:]' '[:lower:]')
  device "sgws-$lower-var-local" 4G
  {
    echo "# $name, written by the storagegrid demo"
    echo "NODE_TYPE = $type"
    echo "BLOCK_DEVICE_VAR_LOCAL = /dev/mapper/sgws-$lower-var-local"
    echo "GRID_NETWORK_TARGET = $target"
    echo "GRID_NETWORK_IP = $ip"
    echo "GRID_NETWORK_MASK = 255.255.255.0"
    echo "GRID_NETWORK_GATEWAY = 10.1.0.1"
    for kv in "$@"; do
      echo "${kv%%=*} = ${kv#*=}"
    done
  } >"$root/etc/storagegrid/nodes/$name.conf"
}

# storage NAME IP: a storage node with one rangedb volume.
storage() {
  local lower
  lower=$(echo "$1" | tr '[:upper:]' '[:lower:]')
  device "sgws-$lower-rangedb-0" 16G
  node "$1" VM_Storage_Node "$2" "BLOCK_DEVICE_RANGEDB_00=/dev/mapper/sgws-$lower-rangedb-0"
}

section "The six nodes of the runbook"
device sgws-dc1-adm1-audit-logs 2G
device sgws-dc1-adm1-tables 2G
node DC1-ADM1 VM_Admin_Node 10.1.0.2 ADMIN_ROLE=Primary \
  BLOCK_DEVICE_AUDIT_LOGS=/dev/mapper/sgws-dc1-adm1-audit-logs \
  BLOCK_DEVICE_TABLES=/dev/mapper/sgws-dc1-adm1-tables
node DC1-ARC1 VM_Archive_Node 10.1.0.3
node DC1-GW1 VM_API_Gateway 10.1.0.4
storage DC1-S1 10.1.0.5
storage DC1-S2 10.1.0.6
storage DC1-S3 10.1.0.7
sg node list
echo
cat "$root/etc/storagegrid/nodes/DC1-S3.conf"

# --- Start, status, stop ---------------------------------------------------
section "Start every node"
sg node start all
sg node status all

section "Runbook step: stop the node to migrate"
sg node stop DC1-S3
sg node status all

section "The same status for scripts"
sg --output json node status DC1-S3

# --- Migration (node export/import/validate/migrate) -----------------------
# DC1-S3 is stopped: move it to a second sandbox host and back.
"$(dirname "$0")/demo-migrate.sh" "$bin" "$root"

# --- Shut down ---------------------------------------------------------------
section "Stop everything"
sg node stop all
sg node status
"$(dirname "$0")/demo-archive.sh" "$bin"
SG_DEMO_TARGET=$target "$(dirname "$0")/demo-model.sh" "$bin"
"$(dirname "$0")/demo-topology.sh" "$bin" "$(dirname "$bin")/lldpsend"
