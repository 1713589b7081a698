#!/usr/bin/env bash
# bench/agent.sh: the agent's cost against the named baseline, Debian's
# prometheus-node-exporter, on this host, in one run.
#
# One side is `storagegrid agent once` (process start plus one full
# collection cycle of every default collector); the other is
# node_exporter started, scraped once on /metrics, and stopped. Both are
# repeated RUNS times. CPU is user+system seconds from the kernel's child
# rusage (bash's `times`, microsecond accounting); peak RSS is ru_maxrss
# from GNU time. The agent must use less of both; exits 1 if not.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-20}

need() { command -v "$1" >/dev/null || { echo "bench: installing $2"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null; }; }
need prometheus-node-exporter prometheus-node-exporter
need curl curl
[ -x /usr/bin/time ] || need /usr/bin/time time

go build -o bin/storagegrid ./cmd/storagegrid
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root"

# child_cpu prints the user+system seconds of the children of the shell
# that runs it, from `times` (second line: children). `times` must run in
# that shell itself, not in a pipeline's fork, hence the file.
child_cpu() {
	times >"$work/times"
	tail -1 "$work/times" | awk '{ split($1,u,"m"); split($2,s,"m"); printf "%.4f\n", u[1]*60+u[2]+s[1]*60+s[2] }'
}

agent_cpu=$(
	for _ in $(seq "$runs"); do
		/usr/bin/time -f %M -a -o "$work/agent.rss" bin/storagegrid --root "$work/root" -q agent once --host-id bench
	done
	child_cpu
)

port=$((20000 + RANDOM % 20000))
ne_cpu=$(
	for _ in $(seq "$runs"); do
		/usr/bin/time -f %M -a -o "$work/ne.rss" prometheus-node-exporter --web.listen-address=127.0.0.1:$port >/dev/null 2>&1 &
		tpid=$!
		for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.02; done
		curl -sf -o /dev/null "http://127.0.0.1:$port/metrics"
		pkill -TERM -P "$tpid"
		wait "$tpid" || true
	done
	child_cpu
)

peak() { sort -n "$1" | tail -1; }
agent_rss=$(peak "$work/agent.rss")
ne_rss=$(peak "$work/ne.rss")
printf '%-28s %12s %14s\n' "" "cpu s/cycle" "peak RSS KiB"
printf '%-28s %12.4f %14d\n' "storagegrid agent once" "$(echo "$agent_cpu / $runs" | bc -l)" "$agent_rss"
printf '%-28s %12.4f %14d\n' "node_exporter scrape" "$(echo "$ne_cpu / $runs" | bc -l)" "$ne_rss"
cpu_ratio=$(echo "$agent_cpu / $ne_cpu" | bc -l)
rss_ratio=$(echo "$agent_rss / $ne_rss" | bc -l)
printf 'ratio agent/node_exporter: cpu %.2f, rss %.2f (target: both below 1)\n' "$cpu_ratio" "$rss_ratio"
awk -v c="$cpu_ratio" -v r="$rss_ratio" 'BEGIN { exit !(c < 1 && r < 1) }'
