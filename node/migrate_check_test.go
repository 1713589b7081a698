package node

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/model"
	"github.com/storagegrid/storagegrid/wire"
)

// The fleet of these tests: DC1-S3 runs on dc1-h1, its LUNs are shared
// with dc1-h2 under the same paths, and both hosts have bond0.1001. In
// the crowded fleet dc1-h2 already runs storage node DC1-S4 and does not
// see DC1-S3's rangedb LUN.
const (
	wwidVarLocal = "3600a0980000000000000000000000e01"
	wwidRangeDB  = "3600a0980000000000000000000000e02"
	rangeDB      = "/dev/mapper/sgws-dc1-s3-rangedb-0"
)

type entity struct {
	kind   wire.Kind
	id     string
	fields map[string]string
}

// snapshot is a host's full snapshot as its agent sends it.
func snapshot(host string, entities ...entity) *wire.Batch {
	b := wire.NewBatch(host)
	at := time.Date(2024, 6, 10, 8, 0, 0, 0, time.UTC)
	entities = append([]entity{{wire.KindHost, host, map[string]string{"memory_bytes": "68719476736"}},
		{wire.KindLink, "bond0.1001", map[string]string{"type": "vlan", "mtu": "9000"}}}, entities...)
	for i, e := range entities {
		b.Add(wire.Event{Host: host, Epoch: 1, Seq: uint64(i + 1), Time: at, Op: wire.OpSnapshot, Kind: e.kind, ID: e.id, Fields: e.fields})
	}
	b.Add(wire.Event{Host: host, Epoch: 1, Seq: uint64(len(entities) + 1), Time: at, Op: wire.OpSnapshotEnd,
		Kind: wire.KindHost, ID: host, Fields: map[string]string{wire.FieldFirstSeq: "1"}})
	return b
}

func lun(id, wwid, path string) entity {
	return entity{wire.KindBlock, id, map[string]string{"wwid": wwid, "size_bytes": "107374182400", "type": "mpath", "aliases": "/dev/" + id + " " + path}}
}

func storageNode(name, varLocal, rangeDB string) entity {
	return entity{wire.KindNode, name, map[string]string{"NODE_TYPE": "VM_Storage_Node", "run_state": "Running",
		"MAXIMUM_RAM": "24g", "GRID_NETWORK_TARGET": "bond0.1001",
		"BLOCK_DEVICE_VAR_LOCAL": varLocal, "BLOCK_DEVICE_RANGEDB_00": rangeDB}}
}

func fleet(crowded bool) []*wire.Batch {
	h1 := snapshot("dc1-h1", lun("dm-0", wwidVarLocal, varLocal), lun("dm-1", wwidRangeDB, rangeDB),
		storageNode("DC1-S3", varLocal, rangeDB))
	if !crowded {
		return []*wire.Batch{h1, snapshot("dc1-h2", lun("dm-3", wwidVarLocal, varLocal), lun("dm-4", wwidRangeDB, rangeDB))}
	}
	h2 := snapshot("dc1-h2", lun("dm-3", wwidVarLocal, varLocal),
		lun("dm-5", "3600a0980000000000000000000000f01", "/dev/mapper/sgws-dc1-s4-var-local"),
		lun("dm-6", "3600a0980000000000000000000000f02", "/dev/mapper/sgws-dc1-s4-rangedb-0"),
		storageNode("DC1-S4", "/dev/mapper/sgws-dc1-s4-var-local", "/dev/mapper/sgws-dc1-s4-rangedb-0"))
	return []*wire.Batch{h1, h2}
}

// modelServer runs a model server on 127.0.0.1 over SQLite, feeds it the
// batches with each host's token and returns its URL.
func modelServer(t *testing.T, batches []*wire.Batch) string {
	t.Helper()
	ctx := context.Background()
	var lines []string
	for _, b := range batches {
		lines = append(lines, b.Host+" token-of-"+b.Host+"-0123456789")
	}
	toks, err := model.ParseTokens("tokens", []byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	store, err := model.OpenSQLite(ctx, filepath.Join(t.TempDir(), "model.db"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := model.NewServer(ctx, model.Config{Store: store, Tokens: toks, StaleAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close(); store.Close() })
	cl, err := model.NewClient(hs.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		gz, err := wire.Compress(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Ingest(ctx, "token-of-"+b.Host+"-0123456789", gz); err != nil {
			t.Fatal(err)
		}
	}
	return hs.URL
}

// clientChecker asks a real model server through model.Client, as the
// CLI does.
type clientChecker struct{ cl *model.Client }

// verdictOf is the model.Verdict behind a ModelVerdict.
type verdictOf struct{ model.Verdict }

func (v *verdictOf) About() (string, string, string) { return v.Check, v.Node, v.To }

func (c clientChecker) CheckMigrate(ctx context.Context, name, to string) (ModelVerdict, error) {
	v, err := c.cl.CheckMigrate(ctx, name, to)
	return &verdictOf{v}, err
}

// checkReporter records what a migration reports.
type checkReporter struct {
	steps    []MigrationStep
	verdicts []model.Verdict
	forced   []bool
	warned   []error
}

func (r *checkReporter) Step(s MigrationStep) { r.steps = append(r.steps, s) }
func (r *checkReporter) ModelChecked(v ModelVerdict, forced bool) {
	r.verdicts, r.forced = append(r.verdicts, v.(*verdictOf).Verdict), append(r.forced, forced)
}
func (r *checkReporter) Overridden(err error)  { r.warned = append(r.warned, err) }
func (r *checkReporter) Resuming(Journal)      {}
func (r *checkReporter) Checked(CheckResult)   {}
func (r *checkReporter) Stopping(string)       {}
func (r *checkReporter) Exported(ExportResult) {}
func (r *checkReporter) Imported(ImportResult) {}
func (r *checkReporter) Starting(string)       {}
func (r *checkReporter) Stdout() io.Writer     { return io.Discard }
func (r *checkReporter) Stderr() io.Writer     { return io.Discard }

func (r *checkReporter) Await(string, time.Duration) Awaiter { return r }
func (r *checkReporter) Show(string)                         {}
func (r *checkReporter) Done()                               {}

func (r *checkReporter) stepLines() (out []string) {
	for _, s := range r.steps {
		out = append(out, s.String())
	}
	return out
}

// migrateWithCheck migrates DC1-S3 from a sandbox host to a target that
// logs every command it is sent and fails it, so a migration that gets
// past step 0 stops at step 1 with nothing changed. It returns the error,
// the reporter and the target's log.
func migrateWithCheck(t *testing.T, check *ModelCheck) (error, *checkReporter, string) {
	t.Helper()
	f := newFixture(t, "ok", 100*time.Millisecond)
	writeFile(t, f.root.Join(varLocal), "")
	writeFile(t, f.root.Join(ConfigDir+"/DC1-S3.conf"), "NODE_TYPE = VM_Storage_Node\nBLOCK_DEVICE_VAR_LOCAL = "+varLocal+
		"\nBLOCK_DEVICE_RANGEDB_00 = "+rangeDB+"\nGRID_NETWORK_TARGET = bond0.1001\n")
	log := filepath.Join(t.TempDir(), "target.log")
	target := Target{Host: "host2", Command: []string{"sh", "-c", `echo "$*" >> "$0"; exit 1`, log}}
	rep := &checkReporter{}
	_, err := f.mgr.Migrate(context.Background(), "DC1-S3", MigrateOptions{Target: target, StopTimeout: time.Second,
		Wait: time.Second, ModelCheck: check}, rep)
	if !f.configured("DC1-S3") {
		t.Error("DC1-S3 is no longer configured on the source")
	}
	sent, _ := os.ReadFile(log)
	return err, rep, string(sent)
}

func newCheck(t *testing.T, server, host string, force bool) *ModelCheck {
	t.Helper()
	cl, err := model.NewClient(server, "")
	if err != nil {
		t.Fatal(err)
	}
	mc, err := NewModelCheck(server, clientChecker{cl}, host)
	if err != nil {
		t.Fatal(err)
	}
	mc.Force = force
	return mc
}

// wantStep0 checks that err is a migration stopped at step 0 with kind.
func wantStep0(t *testing.T, err error, kind fail.Kind, msg string) {
	t.Helper()
	var me *MigrationError
	if !errors.As(err, &me) || me.Step.N != 0 || fail.KindOf(err) != kind || !strings.Contains(err.Error(), msg) {
		t.Fatalf("err = %v (kind %v), want step 0, kind %v, %q", err, fail.KindOf(err), kind, msg)
	}
	if !strings.Contains(err.Error(), "Nothing was changed: node DC1-S3 is still on this host.") {
		t.Fatalf("err = %v: does not say nothing changed", err)
	}
}

// wantTargetAsked checks that the migration went past step 0: the target
// was sent the preflight, which it failed.
func wantTargetAsked(t *testing.T, err error, sent string) {
	t.Helper()
	var me *MigrationError
	if !errors.As(err, &me) || me.Step.N != 1 || !strings.HasPrefix(sent, "node validate --file - DC1-S3") {
		t.Fatalf("err = %v, target sent %q: want the preflight on the target", err, sent)
	}
}

func TestModelCheckSafe(t *testing.T) {
	url := modelServer(t, fleet(false))
	err, rep, sent := migrateWithCheck(t, newCheck(t, url, "dc1-h2", false))
	wantTargetAsked(t, err, sent)
	want := "Step 0/7 on this host: storagegrid model check-migrate DC1-S3 --to dc1-h2 --server " + url
	if lines := rep.stepLines(); len(lines) != 2 || lines[0] != want {
		t.Fatalf("steps = %q, want first %q", lines, want)
	}
	if len(rep.verdicts) != 1 || !rep.verdicts[0].Safe || rep.verdicts[0].From != "dc1-h1" || rep.forced[0] || len(rep.warned) != 0 {
		t.Fatalf("verdicts %+v forced %v warned %v", rep.verdicts, rep.forced, rep.warned)
	}
}

func TestModelCheckNotSafe(t *testing.T) {
	url := modelServer(t, fleet(true))
	err, rep, sent := migrateWithCheck(t, newCheck(t, url, "dc1-h2", false))
	wantStep0(t, err, fail.Refused, "refused at step 0 (storagegrid model check-migrate DC1-S3 --to dc1-h2 --server "+url+
		"): model server "+url+": moving node DC1-S3 to host dc1-h2 is not safe: 3 blocker(s) (the global --force overrides)")
	if sent != "" {
		t.Fatalf("the target was sent %q", sent)
	}
	if len(rep.verdicts) != 1 || rep.forced[0] || len(rep.warned) != 0 {
		t.Fatalf("verdicts %+v forced %v warned %v", rep.verdicts, rep.forced, rep.warned)
	}
	var rules []string
	for _, b := range rep.verdicts[0].Blockers {
		rules = append(rules, b.Rule)
	}
	if got := strings.Join(rules, " "); got != "shared-devices one-storage-node-per-host type-spread" {
		t.Fatalf("blockers = %s", got)
	}
}

func TestModelCheckForced(t *testing.T) {
	url := modelServer(t, fleet(true))
	err, rep, sent := migrateWithCheck(t, newCheck(t, url, "dc1-h2", true))
	wantTargetAsked(t, err, sent)
	if len(rep.verdicts) != 1 || rep.verdicts[0].Safe || !rep.forced[0] {
		t.Fatalf("verdicts %+v forced %v", rep.verdicts, rep.forced)
	}
	if len(rep.warned) != 1 || !strings.Contains(rep.warned[0].Error(), "is not safe: 3 blocker(s)") {
		t.Fatalf("warned %v", rep.warned)
	}
}

// TestModelCheckNoAnswer: a server that is down, one that answers with an
// error, and one that answers something else than the verdict asked for
// all refuse, naming the server; --force goes on.
func TestModelCheckNoAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"check":"check-migrate","node":"DC1-S3","to":"dc1-h2","safe":true,"blockers":[]}`)
	}))
	defer liar.Close()
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `<html>welcome</html>`)
	}))
	defer garbage.Close()
	live := modelServer(t, fleet(false))
	for _, tc := range []struct{ name, server, host, msg string }{
		{"down", down, "dc1-h2", "connection refused"},
		{"unknown host", live, "dc1-h9", `host "dc1-h9": not in the model`},
		{"another question", liar.URL, "dc1-h3", `unexpected answer: a verdict on "check-migrate" for node "DC1-S3" to "dc1-h2"`},
		{"garbage", garbage.URL, "dc1-h2", "malformed answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err, rep, sent := migrateWithCheck(t, newCheck(t, tc.server, tc.host, false))
			wantStep0(t, err, fail.Refused, "model server "+tc.server+" could not check the migration: ")
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "--no-model-check skips it") {
				t.Fatalf("err = %v, want %q and the way out", err, tc.msg)
			}
			if sent != "" || len(rep.verdicts) != 0 {
				t.Fatalf("target sent %q, verdicts %+v", sent, rep.verdicts)
			}
			err, rep, sent = migrateWithCheck(t, newCheck(t, tc.server, tc.host, true))
			wantTargetAsked(t, err, sent)
			if len(rep.warned) != 1 || !strings.Contains(rep.warned[0].Error(), tc.msg) {
				t.Fatalf("warned %v, want %q", rep.warned, tc.msg)
			}
		})
	}
}

func TestModelCheckSkipped(t *testing.T) {
	err, rep, sent := migrateWithCheck(t, &ModelCheck{Server: "http://127.0.0.1:9", Host: "dc1-h2", Skip: true})
	wantTargetAsked(t, err, sent)
	want := "Step 0/7 on this host: storagegrid model check-migrate DC1-S3 --to dc1-h2 --server http://127.0.0.1:9... SKIPPED (--no-model-check)"
	if lines := rep.stepLines(); len(lines) != 2 || lines[0] != want {
		t.Fatalf("steps = %q, want first %q", lines, want)
	}
}

func TestNewModelCheckHostID(t *testing.T) {
	for _, host := range []string{"root@host2", "[::1]", "-oProxyCommand=x", ""} {
		if _, err := NewModelCheck("http://127.0.0.1:9", nil, host); err == nil || !strings.Contains(err.Error(), "target host in the model") {
			t.Errorf("%q: err = %v", host, err)
		}
	}
	mc, err := NewModelCheck("", nil, "dc1-h2.example.com")
	if err != nil || mc.command("DC1-S3") != "storagegrid model check-migrate DC1-S3 --to dc1-h2.example.com" {
		t.Fatalf("mc = %+v, %v", mc, err)
	}
}
