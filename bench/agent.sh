#!/usr/bin/env bash
# bench/agent.sh: the agent's cost against the named baseline, Debian's
# prometheus-node-exporter, on this host, in one run.
#
# Two comparisons, the agent built as the Debian package builds it (static,
# stripped; contrib/scripts/build.sh):
#   1. one cycle (the issue's measure): node_exporter started, scraped once
#      on /metrics and stopped, against `storagegrid-agent agent once`, the
#      agent-only build the agent unit runs: process start plus one full
#      collection cycle of every default collector. Repeated RUNS times.
#      `storagegrid agent once` (the full binary) is shown for comparison:
#      it pays at start for linking everything else.
#   2. the daemon, like for like: node_exporter scraped every 100 ms for
#      RUN_SECS, against `storagegrid-agent agent run` collecting every
#      100 ms for RUN_SECS with /metrics served; CPU per scrape or per
#      completed cycle (storagegrid_agent_collection_cycles_total).
# CPU is user+system seconds from the kernel's child rusage (bash's
# `times`, microsecond accounting); peak RSS is ru_maxrss from GNU time,
# the largest of the runs. The agent-only build must use less of both in
# both comparisons; exits 1 if not.
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

# ne_daemon: node_exporter scraped every 100 ms for RUN_SECS; prints its
# CPU seconds and leaves the scrape count in $work/scrapes, its RSS in
# $work/ne-run.rss.
ne_daemon() {
	local p n=0
	p=$(port)
	/usr/bin/time -f %M -o "$work/ne-run.rss" prometheus-node-exporter --web.listen-address=127.0.0.1:$p >/dev/null 2>&1 &
	local tpid=$!
	for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.02; done
	local end=$((SECONDS + run_secs))
	while [ "$SECONDS" -lt "$end" ]; do
		curl -sf -o /dev/null "http://127.0.0.1:$p/metrics" && n=$((n + 1))
		sleep 0.1
	done
	echo "$n" >"$work/scrapes"
	pkill -TERM -P "$tpid"
	wait "$tpid" || true
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
ne_run_cpu=$(ne_daemon)
run_cpu=$(daemon)
cycles=$(cat "$work/cycles") scrapes=$(cat "$work/scrapes")
[ -n "$cycles" ] && [ "$cycles" -gt 0 ] || { echo "bench: the agent daemon reported no cycles" >&2; exit 1; }
[ "$scrapes" -gt 0 ] || { echo "bench: node_exporter answered no scrape" >&2; exit 1; }

peak() { sort -n "$1" | tail -1; }
ratio() { echo "$1 / $2" | bc -l; }
per() { echo "$1 / $2" | bc -l; }
header() { printf '\n%-34s %12s %14s %10s %10s\n' "$1" "cpu s/cycle" "peak RSS KiB" "cpu ratio" "rss ratio"; }
# row LABEL CPU-PER-CYCLE RSS BASE-CPU BASE-RSS
row() { printf '%-34s %12.4f %14d %10.2f %10.2f\n' "$1" "$2" "$3" "$(ratio "$2" "$4")" "$(ratio "$3" "$5")"; }
below() { awk -v c="$(ratio "$1" "$3")" -v r="$(ratio "$2" "$4")" 'BEGIN { exit !(c < 1 && r < 1) }'; }

ne=("$(per "$ne_cpu" "$runs")" "$(peak "$work/ne.rss")")
once=("$(per "$agent_cpu" "$runs")" "$(peak "$work/agent.rss")")
ne_run=("$(per "$ne_run_cpu" "$scrapes")" "$(peak "$work/ne-run.rss")")
run=("$(per "$run_cpu" "$cycles")" "$(peak "$work/run.rss")")

header "1. one cycle ($runs runs)"
row "node_exporter, one scrape" "${ne[@]}" "${ne[@]}"
row "storagegrid-agent agent once" "${once[@]}" "${ne[@]}"
row "storagegrid agent once (full)" "$(per "$full_cpu" "$runs")" "$(peak "$work/full.rss")" "${ne[@]}"
header "2. daemon, every 100 ms for ${run_secs}s"
row "node_exporter, $scrapes scrapes" "${ne_run[@]}" "${ne_run[@]}"
row "storagegrid-agent agent run" "${run[@]}" "${ne_run[@]}"
echo "(${cycles} cycles; target: the storagegrid-agent rows below 1 in both ratios)"

below "${once[@]}" "${ne[@]}"
below "${run[@]}" "${ne_run[@]}"
