#!/usr/bin/env bash
# The fleet-model part of the demo: two sandbox hosts run grid nodes and
# an agent each; the agents stream to a model server, which answers what
# runs where and whether a maintenance step is safe. No real grid needed;
# everything listens on 127.0.0.1 only.
# Usage: contrib/scripts/demo-model.sh [path/to/storagegrid]
# The agents run the agent-only build next to it (storagegrid-agent, as the
# agent unit does) when there is one, else storagegrid itself.
set -euo pipefail

bin=$(realpath "${1:-bin/storagegrid}")
agent_bin=$(dirname "$bin")/storagegrid-agent
[ -x "$agent_bin" ] || agent_bin=$bin
work=$(mktemp -d "${TMPDIR:-/tmp}/storagegrid-model-demo.XXXXXX")
port=$((20000 + RANDOM % 20000))
server="http://127.0.0.1:$port"
pids=()

# on HOST ARGS: storagegrid on one sandbox host, echoed as typed there.
on() {
  local host=$1
  shift
  echo "[$host]\$ sudo storagegrid $*"
  "$bin" --root "$work/$host" "$@"
}

# model ARGS: a model query, echoed as typed.
model() {
  echo "\$ storagegrid model $*"
  "$bin" model "$@" --server "$server"
}

section() { printf '\n== %s ==\n' "$*"; }

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for h in dc1-h1 dc1-h2; do "$bin" --root "$work/$h" --force node stop all >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# host NAME NODE:TYPE...: a sandbox host whose agent reports to the server.
host() {
  local h=$1 r=$work/$1
  shift
  mkdir -p "$r/etc/storagegrid/nodes" "$r/dev/mapper"
  cat >"$r/etc/storagegrid/storagegrid.toml" <<EOF
[runtime]
kind = "process"
stop_timeout = "10s"

[devices]
allow_files = true

[agent]
host_id = "$h"
server = "$server"
token_file = "/etc/storagegrid/agent-token"
interval = "1s"
metrics_listen = ""
EOF
  # Tokens are at least 16 characters; real ones come from a random source.
  echo "demo-token-of-$h" >"$r/etc/storagegrid/agent-token"
  chmod 600 "$r/etc/storagegrid/agent-token"
  echo "$h demo-token-of-$h" >>"$work/tokens"
  for spec in "$@"; do
    local name=${spec%%:*} type=${spec#*:} lower dev
    lower=$(echo "$name" | tr '[:upper:]' '[:lower:]')
    dev=/dev/mapper/sgws-$lower
    truncate -s 2G "$r$dev-var-local"
    ip_last=$((ip_last + 1))
    {
      printf 'NODE_TYPE = %s\nBLOCK_DEVICE_VAR_LOCAL = %s-var-local\n' "$type" "$dev"
      printf 'GRID_NETWORK_TARGET = %s\nGRID_NETWORK_IP = 10.1.0.%d\n' "${SG_DEMO_TARGET:-bond0.1001}" "$ip_last"
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
ip_last=10

# wait_for TEXT: until `model nodes` shows TEXT (agents ship within a second or two).
wait_for() {
  for _ in $(seq 100); do
    "$bin" model nodes --server "$server" 2>/dev/null | grep -q "$1" && return 0
    sleep 0.1
  done
  echo "demo: the model never showed '$1'" >&2
  return 1
}

section "Two sandbox hosts, one model server on $server"
: >"$work/tokens"
host dc1-h1 DC1-ADM1:VM_Admin_Node DC1-S1:VM_Storage_Node DC1-GW1:VM_API_Gateway
host dc1-h2 DC1-S2:VM_Storage_Node DC1-ARC1:VM_Archive_Node
chmod 600 "$work/tokens"
mkdir -p "$work/model"
"$bin" --root "$work/model" model serve --listen "127.0.0.1:$port" --db "$work/model/model.db" \
  --tokens "$work/tokens" >"$work/model/serve.log" 2>&1 &
pids+=($!)
"$bin" model hosts --server "$server" --wait 10s >/dev/null || { cat "$work/model/serve.log"; exit 1; }

on dc1-h1 node start all
on dc1-h2 node start all
for h in dc1-h1 dc1-h2; do
  "$agent_bin" --root "$work/$h" agent run >"$work/$h.agent.log" 2>&1 &
  pids+=($!)
done
wait_for 'DC1-ARC1.*Running'
wait_for 'DC1-S1.*Running'

section "What runs where, from the agents' snapshots"
echo "(the same model as a web page while the demo runs: $server/ , from inside the demo's network namespace when it runs as root)"
model hosts
model nodes

section "May DC1-S1 move to dc1-h2? Every blocker at once, exit 5"
model check-migrate DC1-S1 --to dc1-h2 || echo "(exit $?: not safe)"

section "A node stops on dc1-h1: its agent reports the change at once"
on dc1-h1 node stop DC1-GW1
wait_for 'DC1-GW1.*Not-Running'
model changes --since 1m --host dc1-h1 | grep 'changed node'

section "May dc1-h2 be taken down now?"
model ok-to-stop dc1-h2 || echo "(exit $?: not safe)"

section "What depends on dc1-h1"
model impact host/dc1-h1
