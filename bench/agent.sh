#!/usr/bin/env bash
# bench/agent.sh: the agent's cost against the named baseline, Debian's
# prometheus-node-exporter, on this host, in one run.
#
# Baseline: node_exporter started, scraped once on /metrics, and stopped.
# Against it, each built as the Debian package builds it (static, stripped;
# contrib/scripts/build.sh):
#   - `storagegrid-agent agent once`, the agent-only build the agent unit
#     runs: process start plus one full collection cycle of every default
#     collector;
#   - `storagegrid agent once`, the same with the full binary, for
#     comparison (it pays at start for linking everything else);
#   - `storagegrid-agent agent run`, the daemon, for a few seconds at a short
#     interval with /metrics served and scraped once: CPU per completed
#     cycle (storagegrid_agent_collection_cycles_total) and its peak RSS.
# The one-shot rows are repeated RUNS times. CPU is user+system seconds
# from the kernel's child rusage (bash's `times`, microsecond accounting);
# peak RSS is ru_maxrss from GNU time, the largest of the runs. The
# agent-only build must use less of both than node_exporter; exits 1 if not.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-20}
run_secs=${RUN_SECS:-3}

need() { command -v "$1" >/dev/null || { echo "bench: installing $2"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null; }; }
need prometheus-node-exporter prometheus-node-exporter
need curl curl
need bc bc
[ -x /usr/bin/time ] || need /usr/bin/time time

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for flavor in full agent; do
	CGO_ENABLED=0 ./contrib/scripts/build.sh "$flavor" "$work/$flavor" -trimpath -ldflags "-s -w"
done
mkdir -p "$work/root"
port() { echo $((20000 + RANDOM % 20000)); }

# child_cpu prints the user+system seconds of the children of the shell
# that runs it, from `times` (second line: children). `times` must run in
# that shell itself, not in a pipeline's fork, hence the file.
child_cpu() {
	times >"$work/times"
	tail -1 "$work/times" | awk '{ split($1,u,"m"); split($2,s,"m"); printf "%.4f\n", u[1]*60+u[2]+s[1]*60+s[2] }'
}

# once FLAVOR: total CPU seconds of RUNS `agent once`; RSS in $work/FLAVOR.rss.
once() {
	for _ in $(seq "$runs"); do
		/usr/bin/time -f %M -a -o "$work/$1.rss" "$work/$1" --root "$work/root" -q agent once --host-id bench
	done
	child_cpu
}

node_exporter() {
	local p
	p=$(port)
	for _ in $(seq "$runs"); do
		/usr/bin/time -f %M -a -o "$work/ne.rss" prometheus-node-exporter --web.listen-address=127.0.0.1:$p >/dev/null 2>&1 &
		local tpid=$!
		for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.02; done
		curl -sf -o /dev/null "http://127.0.0.1:$p/metrics"
		pkill -TERM -P "$tpid"
		wait "$tpid" || true
	done
	child_cpu
}

# daemon: the agent-only build's `agent run` for RUN_SECS at a 100 ms
# interval; prints its CPU seconds and leaves its cycle count in
# $work/cycles and its RSS in $work/run.rss.
daemon() {
	local p
	p=$(port)
	mkdir -p "$work/root/etc/storagegrid"
	printf '[agent]\nmetrics_listen = "127.0.0.1:%s"\n' "$p" >"$work/root/etc/storagegrid/storagegrid.toml"
	/usr/bin/time -f %M -o "$work/run.rss" "$work/agent" --root "$work/root" -q agent run --host-id bench --interval 100ms &
	local tpid=$!
	sleep "$run_secs"
	curl -sf "http://127.0.0.1:$p/metrics" | awk '$1 == "storagegrid_agent_collection_cycles_total" { print $2 }' >"$work/cycles"
	pkill -TERM -P "$tpid"
	wait "$tpid" || true
	rm "$work/root/etc/storagegrid/storagegrid.toml"
	child_cpu
}

ne_cpu=$(node_exporter)
agent_cpu=$(once agent)
full_cpu=$(once full)
run_cpu=$(daemon)
cycles=$(cat "$work/cycles")
[ -n "$cycles" ] && [ "$cycles" -gt 0 ] || { echo "bench: the agent daemon reported no cycles" >&2; exit 1; }

peak() { sort -n "$1" | tail -1; }
ne_rss=$(peak "$work/ne.rss")
ratio() { echo "$1 / $2" | bc -l; }
row() { # label cpu-per-cycle rss
	printf '%-34s %12.4f %14d %10.2f %10.2f\n' "$1" "$2" "$3" "$(ratio "$2" "$ne_per")" "$(ratio "$3" "$ne_rss")"
}
ne_per=$(echo "$ne_cpu / $runs" | bc -l)
printf '%-34s %12s %14s %10s %10s\n' "" "cpu s/cycle" "peak RSS KiB" "cpu ratio" "rss ratio"
row "node_exporter scrape (baseline)" "$ne_per" "$ne_rss"
row "storagegrid-agent agent once" "$(echo "$agent_cpu / $runs" | bc -l)" "$(peak "$work/agent.rss")"
row "storagegrid-agent agent run" "$(echo "$run_cpu / $cycles" | bc -l)" "$(peak "$work/run.rss")"
row "storagegrid agent once (full)" "$(echo "$full_cpu / $runs" | bc -l)" "$(peak "$work/full.rss")"
echo "(agent run: $cycles cycles in ${run_secs}s; target: the storagegrid-agent rows below 1 in both ratios)"

ok() { awk -v c="$(ratio "$1" "$ne_per")" -v r="$(ratio "$2" "$ne_rss")" 'BEGIN { exit !(c < 1 && r < 1) }'; }
ok "$(echo "$agent_cpu / $runs" | bc -l)" "$(peak "$work/agent.rss")"
ok "$(echo "$run_cpu / $cycles" | bc -l)" "$(peak "$work/run.rss")"
