#!/usr/bin/env bash
# The physical-layer part of the demo: four sandbox hosts, each in a
# network namespace of its own, cabled to two switches that lldpsend
# plays (contrib/lldpsend: it advertises a switch by LLDP on the far end
# of each cable, as a switch port would). Each host's agent learns its
# neighbours from the frames and streams them to a model server over a
# management bridge, and the model tells which failures would hurt most.
# Storage nodes DC1-S1..S3 all hang off switch sw-a: the worst single
# failure. Then the fleet is patched host by host (fleet plan-patch,
# fleet patch; the "patch" gives a host a new boot id, as a reboot
# would), and the model's history shows that DC1 never had more than one
# storage node down. Root only (network namespaces); everything stays inside a
# private network namespace and the namespaces it creates.
# Usage: contrib/scripts/demo-topology.sh [path/to/storagegrid] [path/to/lldpsend]
set -euo pipefail

bin=$(realpath "${1:-bin/storagegrid}")
lldpsend=$(realpath "${2:-bin/lldpsend}")
agent_bin=$(dirname "$bin")/storagegrid-agent
[ -x "$agent_bin" ] || agent_bin=$bin
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
  echo "(not root: no network namespaces, so no cabled hosts; the topology demo is skipped)"
  exit 0
fi
# The management bridge and the model server's address live in a private
# namespace of the demo's own, never on the machine's network.
if [ -z "${SG_DEMO_TOPO_NETNS:-}" ]; then
  exec env SG_DEMO_TOPO_NETNS=1 unshare --net "$0" "$bin" "$lldpsend"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/storagegrid-topology-demo.XXXXXX")
tag=sgd$$
port=$((20000 + RANDOM % 20000))
server="http://10.200.0.1:$port"
pids=()
namespaces=()
hosts=()

section() { printf '\n== %s ==\n' "$*"; }

# model ARGS: a model query, echoed as typed.
model() {
  echo "\$ storagegrid model $*"
  "$bin" model "$@" --server "$server"
}

# onhost HOST CMD...: a command inside the host's network namespace.
onhost() {
  local h=$1
  shift
  ip netns exec "$tag-$h" "$@"
}

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for h in "${hosts[@]}"; do onhost "$h" "$bin" --root "$work/$h" --force node stop all >/dev/null 2>&1 || true; done
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

ip link set lo up
ip link add mgmt type bridge
ip addr add 10.200.0.1/24 dev mgmt
ip link set mgmt up
ip netns add "$tag-sw"
namespaces+=("$tag-sw")
: >"$work/tokens"

# host NAME RACK NODE:TYPE...: a sandbox host in its own network
# namespace: mgmt0 on the management bridge, eth0 (the grid network)
# cabled to a port in the switches' namespace (p-NAME), its nodes, and
# its agent's settings.
n=0
ipn=10
host() {
  local h=$1 rack=$2 r=$work/$1 ns=$tag-$1
  shift 2
  n=$((n + 1))
  hosts+=("$h")
  ip netns add "$ns"
  namespaces+=("$ns")
  ip -n "$ns" link set lo up
  ip link add "m-$h" type veth peer name mgmt0 netns "$ns"
  ip link set "m-$h" master mgmt up
  ip -n "$ns" addr add "10.200.0.$((10 + n))/24" dev mgmt0
  ip -n "$ns" link set mgmt0 up
  ip -n "$ns" link add eth0 type veth peer name "p-$h" netns "$tag-sw"
  ip -n "$ns" link set eth0 up
  ip -n "$tag-sw" link set "p-$h" up
  mkdir -p "$r/etc/storagegrid/nodes" "$r/dev/mapper" "$r/proc/sys/kernel/random"
  # A sandbox host's boot id: the agent reads it under the root.
  cat /proc/sys/kernel/random/uuid >"$r/proc/sys/kernel/random/boot_id"
  cat >"$r/etc/storagegrid/storagegrid.toml" <<EOT
[runtime]
kind = "process"
stop_timeout = "10s"

[devices]
allow_files = true

[host]
site = "DC1"
rack = "$rack"

[agent]
host_id = "$h"
server = "$server"
token_file = "/etc/storagegrid/agent-token"
interval = "1s"
metrics_listen = ""
EOT
  echo "demo-token-of-$h" >"$r/etc/storagegrid/agent-token"
  chmod 600 "$r/etc/storagegrid/agent-token"
  echo "$h demo-token-of-$h" >>"$work/tokens"
  for spec in "$@"; do
    local name=${spec%%:*} type=${spec#*:} dev
    dev=/dev/mapper/sgws-$(echo "$name" | tr '[:upper:]' '[:lower:]')
    ipn=$((ipn + 1))
    truncate -s 2G "$r$dev-var-local"
    {
      printf 'NODE_TYPE = %s\nBLOCK_DEVICE_VAR_LOCAL = %s-var-local\n' "$type" "$dev"
      printf 'GRID_NETWORK_TARGET = eth0\nGRID_NETWORK_IP = 10.1.0.%d\n' "$ipn"
      printf 'GRID_NETWORK_MASK = 255.255.255.0\nGRID_NETWORK_GATEWAY = 10.1.0.1\n'
      case $type in
      VM_Admin_Node)
        truncate -s 1G "$r$dev-audit-logs" "$r$dev-tables"
        printf 'ADMIN_ROLE = Primary\nBLOCK_DEVICE_AUDIT_LOGS = %s-audit-logs\nBLOCK_DEVICE_TABLES = %s-tables\n' "$dev" "$dev"
        ;;
      VM_Storage_Node)
        truncate -s 4G "$r$dev-rangedb-0"
        printf 'BLOCK_DEVICE_RANGEDB_00 = %s-rangedb-0\n' "$dev"
        ;;
      esac
    } >"$r/etc/storagegrid/nodes/$name.conf"
  done
}

section "Four sandbox hosts, each in its own network namespace, cabled to two switches"
host dc1-h1 r1 DC1-ADM1:VM_Admin_Node DC1-GW1:VM_API_Gateway
host dc1-h2 r1 DC1-S1:VM_Storage_Node
host dc1-h3 r2 DC1-S2:VM_Storage_Node
host dc1-h4 r3 DC1-S3:VM_Storage_Node
chmod 600 "$work/tokens"
echo "sw-a: dc1-h2, dc1-h3, dc1-h4 (every storage node's grid network); sw-b: dc1-h1"
ip netns exec "$tag-sw" "$lldpsend" -chassis 02:00:00:00:00:0a -name sw-a \
  -port p-dc1-h2=Ethernet1/2 -port p-dc1-h3=Ethernet1/3 -port p-dc1-h4=Ethernet1/4 &
pids+=($!)
ip netns exec "$tag-sw" "$lldpsend" -chassis 02:00:00:00:00:0b -name sw-b -port p-dc1-h1=Ethernet1/1 &
pids+=($!)
mkdir -p "$work/model"
"$bin" --root "$work/model" model serve --listen "10.200.0.1:$port" --db "$work/model/model.db" \
  --tokens "$work/tokens" >"$work/model/serve.log" 2>&1 &
pids+=($!)
"$bin" model hosts --server "$server" --wait 10s >/dev/null || { cat "$work/model/serve.log"; exit 1; }
for h in "${hosts[@]}"; do
  echo "[$h]\$ sudo storagegrid node start all"
  onhost "$h" "$bin" --root "$work/$h" node start all >/dev/null || { onhost "$h" "$bin" --root "$work/$h" node validate all; exit 1; }
  onhost "$h" "$agent_bin" --root "$work/$h" agent run >"$work/$h.agent.log" 2>&1 &
  pids+=($!)
done

# Until the agents have reported every neighbour and node.
for _ in $(seq 150); do
  "$bin" model impact switch/sw-a --server "$server" 2>/dev/null | grep -q 'DC1-S1,DC1-S2,DC1-S3' &&
    "$bin" model impact switch/sw-b --server "$server" >/dev/null 2>&1 &&
    [ "$("$bin" model nodes --server "$server" | grep -c Running)" = 5 ] && break
  sleep 0.2
done

section "What the agents heard on their cables (LLDP neighbours)"
model switches

section "The worst single failures: sw-a first, every storage node hangs off it"
model failures

section "What sw-a's failure takes down"
model impact switch/sw-a

section "Pairs that break a rule neither breaks alone"
model failures --depth 2 --kind switch,rack

section "What if sw-b fails, and then dc1-h3 is taken down for patching? (exit 5)"
model what-if --fail switch/sw-b --stop dc1-h3 || echo "(exit $?: not safe)"

section "A rolling OS patch of the fleet: the plan, checked on a fork of the model"
# fleet ARGS: a fleet command, echoed as typed.
fleet() {
  echo "\$ storagegrid fleet $*"
  "$bin" fleet "$@" --server "$server"
}
fleet plan-patch --all --out "$work/plan.json" || echo "(exit $?: dc1-h1 holds the only admin node and gateway)"
fleet plan-patch dc1-h2 dc1-h3 dc1-h4 --out "$work/plan.json"

section "Carrying it out, host by host: stop, patch, wait for the new boot id, start"
# The "patch" writes a new boot id into the sandbox host, as a reboot
# would; the host's agent reports it at its next collection.
patch="cat /proc/sys/kernel/random/uuid > $work/{host}/proc/sys/kernel/random/boot_id"
echo "\$ storagegrid fleet patch --plan plan.json --run 'sudo apt-get -y upgrade && sudo reboot'  # here: a new boot id"
"$bin" fleet patch --plan "$work/plan.json" --server "$server" --run "$patch" --run-cmd "sh -c" \
  --target-cmd "ip netns exec $tag-{host} $bin --root $work/{host}" | grep -E ': (done|failed)' | grep -vE 'check-moves|ok-to-stop'

section "No moment with more than one storage node of DC1 down (the model's history)"
model changes --since 10m --kind node | grep ' changed node .*run_state'
"$bin" model changes --since 10m --kind node --server "$server" | awk '
	/ changed node DC1-S[0-9]:.*run_state/ {
		split($5, n, ":"); down[n[1]] = ($0 !~ /run_state [^,]* -> Running/)
		c = 0; for (k in down) c += down[k]; if (c > worst) worst = c
	}
	END { printf "at most %d of the 3 storage nodes down at once; the site needs 2 running\n", worst; exit worst > 1 }'
