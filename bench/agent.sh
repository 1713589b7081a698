#!/usr/bin/env bash
# bench/agent.sh: the agent's cost against the named baseline, Debian's
# prometheus-node-exporter, on this host, in one run.
#
# The agent is built as the Debian package builds it (static, stripped;
# contrib/scripts/build.sh), and node_exporter runs twice over: with its
# default collectors, and with the set that reads what the agent's
# default collectors read (cpu, stat, meminfo, loadavg, diskstats, netdev,
# hwmon, uname, netclass), the like-for-like baseline.
#   1. one cycle: node_exporter started, scraped once on /metrics and
#      stopped, against `storagegrid-agent agent once` (the agent-only
#      build the agent unit runs): process start plus one full collection
#      cycle. Repeated RUNS times.
#   2. the daemon: node_exporter scraped every 100 ms for RUN_SECS, against
#      `storagegrid-agent agent run` collecting every 100 ms for RUN_SECS;
#      CPU per scrape or per completed cycle
#      (storagegrid_agent_collection_cycles_total).
# CPU is user+system seconds of the measured process alone, from the
# rusage wait4 returns for it (GNU time runs it directly; curl, sleep and
# the shell are not counted). Peak RSS is that process's ru_maxrss, the
# largest of the runs. Targets: one cycle below 1x node_exporter (same
# collectors) in CPU and RSS; the daemon at most 0.5x its CPU and at most
# 1.0x its RSS. Exits 1 when a target is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-20}
run_secs=${RUN_SECS:-10}

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

same_collectors=(--collector.disable-defaults --collector.cpu --collector.stat --collector.meminfo --collector.loadavg
	--collector.diskstats --collector.netdev --collector.hwmon --collector.uname --collector.netclass)

# GNU time runs the measured process directly and appends "user system
# maxrss" of that process alone to $work/NAME ($tf is the format). A
# process in the background is started as `/usr/bin/time ... CMD &`, so
# that $! is time and `pkill -P $!` stops the measured process itself.
tf='%U %S %M'

# total NAME: the CPU seconds (user+system) summed over NAME's runs
# (lines such as "Command terminated by signal 15" are skipped).
total() { awk '$1 ~ /^[0-9.]+$/ { s += $1 + $2 } END { printf "%.4f\n", s }' "$work/$1"; }
# peak NAME: the largest RSS (KiB) of NAME's runs.
peak() { awk '$1 ~ /^[0-9.]+$/ && $3 > m { m = $3 } END { print m }' "$work/$1"; }

wait_up() { for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return; sleep 0.02; done; }

# ne_once NAME ARGS...: node_exporter (with ARGS) started, scraped once,
# stopped, RUNS times.
ne_once() {
	local name=$1 p pid
	shift
	for _ in $(seq "$runs"); do
		p=$(port)
		/usr/bin/time -f "$tf" -a -o "$work/$name" prometheus-node-exporter --web.listen-address=127.0.0.1:$p "$@" >/dev/null 2>&1 &
		pid=$!
		wait_up "$p"
		curl -sf -o /dev/null "http://127.0.0.1:$p/metrics"
		pkill -TERM -P "$pid"
		wait "$pid" || true
	done
}

# agent_once FLAVOR: `agent once` RUNS times.
agent_once() {
	for _ in $(seq "$runs"); do
		/usr/bin/time -f "$tf" -a -o "$work/once-$1" "$work/$1" --root "$work/root" -q agent once --host-id bench >/dev/null
	done
}

# ne_daemon NAME ARGS...: node_exporter scraped every 100 ms for RUN_SECS;
# the scrape count goes to $work/NAME.count.
ne_daemon() {
	local name=$1 p pid n=0
	shift
	p=$(port)
	/usr/bin/time -f "$tf" -a -o "$work/$name" prometheus-node-exporter --web.listen-address=127.0.0.1:$p "$@" >/dev/null 2>&1 &
	pid=$!
	wait_up "$p"
	local end=$((SECONDS + run_secs))
	while [ "$SECONDS" -lt "$end" ]; do
		curl -sf -o /dev/null "http://127.0.0.1:$p/metrics" && n=$((n + 1))
		sleep 0.1
	done
	echo "$n" >"$work/$name.count"
	pkill -TERM -P "$pid"
	wait "$pid" || true
}

# agent_daemon: the agent-only build's `agent run` for RUN_SECS at a 100 ms
# interval; its cycle count goes to $work/daemon.count.
agent_daemon() {
	local p pid
	p=$(port)
	mkdir -p "$work/root/etc/storagegrid"
	printf '[agent]\nmetrics_listen = "127.0.0.1:%s"\n' "$p" >"$work/root/etc/storagegrid/storagegrid.toml"
	/usr/bin/time -f "$tf" -a -o "$work/daemon" "$work/agent" --root "$work/root" -q agent run --host-id bench --interval 100ms &
	pid=$!
	sleep "$run_secs"
	curl -sf "http://127.0.0.1:$p/metrics" | awk '$1 == "storagegrid_agent_collection_cycles_total" { print $2 }' >"$work/daemon.count"
	pkill -TERM -P "$pid"
	wait "$pid" || true
	rm "$work/root/etc/storagegrid/storagegrid.toml"
}

ne_once ne-once-default
ne_once ne-once-same "${same_collectors[@]}"
agent_once agent
agent_once full
ne_daemon ne-run-default
ne_daemon ne-run-same "${same_collectors[@]}"
agent_daemon
for c in ne-run-default ne-run-same daemon; do
	n=$(cat "$work/$c.count")
	[ -n "$n" ] && [ "$n" -gt 0 ] || { echo "bench: $c completed no cycle or scrape" >&2; exit 1; }
done

per() { echo "$1 / $2" | bc -l; }
ratio() { echo "$1 / $2" | bc -l; }
header() { printf '\n%-40s %12s %14s %22s %22s\n' "$1" "cpu s/cycle" "peak RSS KiB" "cpu ratio (same/def)" "rss ratio (same/def)"; }
# row LABEL CPU RSS SAME-CPU SAME-RSS DEF-CPU DEF-RSS
row() {
	printf '%-40s %12.5f %14d %10.2f / %-9.2f %10.2f / %-9.2f\n' "$1" "$2" "$3" \
		"$(ratio "$2" "$4")" "$(ratio "$2" "$6")" "$(ratio "$3" "$5")" "$(ratio "$3" "$7")"
}
fails=0
check() { # check LABEL VALUE TARGET
	if awk -v v="$2" -v t="$3" 'BEGIN { exit !(v <= t) }'; then echo "  PASS  $1: $(printf %.2f "$2") <= $3"; else
		echo "  FAIL  $1: $(printf %.2f "$2") > $3"; fails=$((fails + 1)); fi
}

ne_def=("$(per "$(total ne-once-default)" "$runs")" "$(peak ne-once-default)")
ne_same=("$(per "$(total ne-once-same)" "$runs")" "$(peak ne-once-same)")
once=("$(per "$(total once-agent)" "$runs")" "$(peak once-agent)")
full=("$(per "$(total once-full)" "$runs")" "$(peak once-full)")
run_def=("$(per "$(total ne-run-default)" "$(cat "$work/ne-run-default.count")")" "$(peak ne-run-default)")
run_same=("$(per "$(total ne-run-same)" "$(cat "$work/ne-run-same.count")")" "$(peak ne-run-same)")
run=("$(per "$(total daemon)" "$(cat "$work/daemon.count")")" "$(peak daemon)")

header "1. one cycle ($runs runs)"
row "node_exporter, defaults, one scrape" "${ne_def[@]}" "${ne_same[@]}" "${ne_def[@]}"
row "node_exporter, same collectors" "${ne_same[@]}" "${ne_same[@]}" "${ne_def[@]}"
row "storagegrid-agent agent once" "${once[@]}" "${ne_same[@]}" "${ne_def[@]}"
row "storagegrid agent once (full build)" "${full[@]}" "${ne_same[@]}" "${ne_def[@]}"
header "2. daemon, every 100 ms for ${run_secs}s"
row "node_exporter, defaults ($(cat "$work/ne-run-default.count") scrapes)" "${run_def[@]}" "${run_same[@]}" "${run_def[@]}"
row "node_exporter, same ($(cat "$work/ne-run-same.count") scrapes)" "${run_same[@]}" "${run_same[@]}" "${run_def[@]}"
row "storagegrid-agent agent run ($(cat "$work/daemon.count") cycles)" "${run[@]}" "${run_same[@]}" "${run_def[@]}"
echo
check "one cycle, CPU vs node_exporter (same collectors)" "$(ratio "${once[0]}" "${ne_same[0]}")" 0.99
check "one cycle, RSS vs node_exporter (same collectors)" "$(ratio "${once[1]}" "${ne_same[1]}")" 0.99
check "daemon, CPU per cycle vs node_exporter (same collectors)" "$(ratio "${run[0]}" "${run_same[0]}")" 0.5
check "daemon, peak RSS vs node_exporter (same collectors)" "$(ratio "${run[1]}" "${run_same[1]}")" 1.0
[ "$fails" -eq 0 ] || { echo "bench: $fails target(s) missed"; exit 1; }
echo "bench: all targets met"
