# storagegrid: the two set-up commands are `make demo` and `make test`.
GO      ?= go
BIN     := bin/storagegrid
AGENT   := bin/storagegrid-agent
PKGS    := ./...

.PHONY: build test demo lint bench bench-agent bench-audit bench-model clean deb

# Both flavors: the full tool and the agent-only build the agent unit runs
# (contrib/scripts/build.sh says what each holds).
build:
	GO=$(GO) ./contrib/scripts/build.sh full $(BIN)
	GO=$(GO) ./contrib/scripts/build.sh agent $(AGENT)

# Root-only tests (loop devices, network namespaces) skip with a reason when
# not run as root; CI runs as root.
test: lint
	$(GO) test -count=1 -timeout 20m $(PKGS)
	# The model's whole suite again, on PostgreSQL (a throwaway cluster,
	# see internal/pgtest, unless STORAGEGRID_TEST_POSTGRES names one).
	STORAGEGRID_TEST_STORE=postgres $(GO) test -count=1 -timeout 10m ./model
	# The claim races again, in full, under the race detector (node/lease.go).
	$(GO) test -race -count=1 -timeout 10m -run 'TestClaimRaces' ./node
	# Gzipped audit logs read with ISA-L, as make build reads them where
	# libisal-dev is installed (CI installs it): the reader's own tests
	# and the scans' gzip tests.
	$(GO) test -tags isal -count=1 ./internal/igzip
	$(GO) test -tags isal -count=1 -run 'Gzip|Gunzip' ./audit

# The Debian package (dpkg-deb only) in bin/, versioned from git describe.
deb:
	./contrib/packaging/build-deb.sh "$$(./contrib/packaging/deb-version.sh)" bin

# The demo's switches are played by contrib/lldpsend (LLDP frames on the
# far ends of its sandbox hosts' cables).
demo: build
	$(GO) build -o bin/lldpsend ./contrib/lldpsend
	./contrib/scripts/demo.sh $(BIN)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags agentonly,urfave_cli_no_docs ./cmd/storagegrid
	@test -e /usr/include/isa-l/igzip_lib.h || { echo "make lint/test: needs ISA-L's headers (apt-get install libisal-dev; .ci/run installs it)"; exit 1; }
	$(GO) vet -tags isal ./internal/igzip ./audit

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# The agent against Debian's prometheus-node-exporter: CPU and peak RSS.
bench-agent:
	./bench/agent.sh

clean:
	rm -rf bin

# The model server on SQLite and on PostgreSQL (a durable throwaway
# cluster): ingest rates, what-if latency over HTTP, ratios.
bench-model:
	./bench/model.sh

# The audit-scan performance targets (issue 5): 1 GiB plain and 8 gzipped
# files against grep/zgrep, peak RSS. Generates its data once (bench/data).
bench-audit:
	./bench/audit.sh
