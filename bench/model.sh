#!/usr/bin/env bash
# Model server benchmarks, on both stores in one run (issues 9, 17, 19):
#   ingest through the HTTP endpoint: gzip NDJSON batches of 2,000 events
#   from 16 concurrent agents, acknowledged only once durable (SQLite in
#   WAL with synchronous=FULL; PostgreSQL with fsync and synchronous_commit
#   on), for a metrics mix and for inventory changes only;
#   ok-to-stop and check-migrate asked over HTTP of a server holding a
#   2,000-host / 10,000-node model, median and 99th percentile;
#   model failures --depth 2 on that model cabled to 100 switches in 200
#   racks (target: under 2 s); model what-if with ten changes on it
#   (target: under 100 ms); the web page's fleet view of the 2,000-host
#   model over HTTP (target: under 1 s).
# Targets: SQLite ingest (metrics mix) >= 50,000 events/s; PostgreSQL
# ingest >= 100,000 events/s (metrics mix) and >= 50,000 (inventory
# only); what-if p50 < 10 ms on either store. Prints each figure, its
# target and ratio, and PostgreSQL's ingest against SQLite's. Exits 1 when
# a target is missed. PostgreSQL comes from Debian's packages, as a
# throwaway cluster (contrib/scripts/pgcluster) for this run.
set -euo pipefail
cd "$(dirname "$0")/.."

pgdir=$(mktemp -d /tmp/sgbench-pg.XXXXXX)
trap 'contrib/scripts/pgcluster stop "$pgdir"; rm -f "$pgdir.out"' EXIT
STORAGEGRID_TEST_POSTGRES=$(PGCLUSTER_DURABLE=1 contrib/scripts/pgcluster start "$pgdir")
export STORAGEGRID_TEST_POSTGRES

bench() { STORAGEGRID_TEST_STORE=$1 go test -run '^$' -bench "$2" -benchtime "$3" -timeout 30m ./model/; }
raw=$pgdir.out
for store in sqlite postgres; do
  bench "$store" 'BenchmarkIngestHTTP$|BenchmarkIngestInventoryHTTP$' 3x | sed "s/^Benchmark/$store Benchmark/"
  bench "$store" 'BenchmarkOkToStopHTTP$|BenchmarkCheckMigrateHTTP$' 200x | sed "s/^Benchmark/$store Benchmark/"
done >"$raw"
# The failure analysis runs on the in-memory graph: one store is enough.
bench sqlite 'BenchmarkFailuresDepth2$|BenchmarkScenario10$' 5x | sed "s/^Benchmark/graph Benchmark/" >>"$raw"
bench sqlite 'BenchmarkFleetPageHTTP$' 20x | sed "s/^Benchmark/graph Benchmark/" >>"$raw"
grep -E '^(sqlite|postgres|graph) Benchmark|^cpu:' "$raw"
awk '
	function metric(unit,   i) { for (i = 2; i < NF; i++) if ($(i+1) == unit) return $i }
	function report(name, got, unit, target, higher,   ratio) {
		ratio = higher ? got / target : target / got
		printf "%-34s %10.1f %-8s target %s %-7s ratio %6.2f  %s\n", name, got, unit, (higher ? ">=" : "< "), target, ratio, (ratio >= 1 ? "ok" : "MISSED")
		if (ratio < 1) missed = 1
	}
	$2 ~ /^BenchmarkIngestHTTP/          { mix[$1] = metric("events/s") }
	$2 ~ /^BenchmarkIngestInventoryHTTP/ { inv[$1] = metric("events/s") }
	$2 ~ /^BenchmarkOkToStopHTTP/        { ok50[$1] = metric("p50-ms"); ok99[$1] = metric("p99-ms") }
	$2 ~ /^BenchmarkCheckMigrateHTTP/    { cm50[$1] = metric("p50-ms"); cm99[$1] = metric("p99-ms") }
	$2 ~ /^BenchmarkFailuresDepth2/      { fail2 = metric("ns/op") / 1e9 }
	$2 ~ /^BenchmarkScenario10/          { whatif10 = metric("ns/op") / 1e6 }
	$2 ~ /^BenchmarkFleetPageHTTP/       { page50 = metric("p50-ms") }
	END {
		print ""
		report("sqlite ingest, metrics mix", mix["sqlite"], "events/s", 50000, 1)
		printf "%-34s %10.1f %-8s (no target)\n", "sqlite ingest, inventory only", inv["sqlite"], "events/s"
		report("postgres ingest, metrics mix", mix["postgres"], "events/s", 100000, 1)
		report("postgres ingest, inventory only", inv["postgres"], "events/s", 50000, 1)
		for (s in ok50) {
			report(s " ok-to-stop p50", ok50[s], "ms", 10, 0)
			report(s " check-migrate p50", cm50[s], "ms", 10, 0)
			printf "%-34s %10.1f ms / %.1f ms (p99, no target)\n", s " ok-to-stop / check-migrate", ok99[s], cm99[s]
		}
		report("failures --depth 2 (2,000 hosts)", fail2, "s", 2, 0)
		report("what-if, ten changes", whatif10, "ms", 100, 0)
		report("web fleet page, 2,000 hosts, p50", page50, "ms", 1000, 0)
		printf "postgres / sqlite ingest: metrics mix %.2fx, inventory only %.2fx\n", mix["postgres"] / mix["sqlite"], inv["postgres"] / inv["sqlite"]
		exit missed
	}
' "$raw"
