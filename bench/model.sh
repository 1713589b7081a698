#!/usr/bin/env bash
# Model server benchmarks against the targets of issue 9, in one run:
#   ingest through the HTTP endpoint (gzip NDJSON batches of 2,000 events
#   from 16 concurrent agents, stored in SQLite with WAL, synchronous=FULL),
#   at least 50,000 events/s sustained;
#   ok-to-stop and check-migrate on a 2,000-host / 10,000-node model,
#   under 50 ms each.
# Prints each measurement, its target and the ratio (above 1 beats the
# target). Exits 1 when a target is missed.
set -euo pipefail
cd "$(dirname "$0")/.."

bench() { go test -run '^$' -bench "$1" -benchtime "$2" -timeout 30m ./model/; }
out=$(bench 'BenchmarkOkToStop$|BenchmarkCheckMigrate$' 50x; bench 'BenchmarkIngestHTTP$|BenchmarkIngestInventoryHTTP$' 3x)
echo "$out" | grep -E '^(Benchmark|cpu:)'
echo
echo "$out" | awk '
	# metric returns the value reported with the given unit.
	function metric(unit,   i) { for (i = 1; i < NF; i++) if ($(i+1) == unit) return $i }
	function report(name, got, unit, target, higher,   ratio) {
		ratio = higher ? got / target : target / got
		printf "%-24s %10.1f %-8s target %s %-6s %-8s ratio %6.2f  %s\n", name, got, unit, (higher ? ">=" : "< "), target, unit, ratio, (ratio >= 1 ? "ok" : "MISSED")
		if (ratio < 1) missed = 1
	}
	/^BenchmarkOkToStop/            { report("ok-to-stop", metric("ms/check"), "ms", 50, 0) }
	/^BenchmarkCheckMigrate/        { report("check-migrate", metric("ms/check"), "ms", 50, 0) }
	/^BenchmarkIngestHTTP/          { report("ingest, metrics mix", metric("events/s"), "events/s", 50000, 1) }
	/^BenchmarkIngestInventoryHTTP/ { printf "%-24s %10.1f %-8s (worst case, every event an inventory change: no target)\n", "ingest, inventory only", metric("events/s"), "events/s" }
	END { exit missed }
'
