package archive

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// arce is an ARCE audit message as the Admin Node writes it; cbid ""
// leaves the CBID out.
func arce(at time.Time, cbid, result string, node int) string {
	id := ""
	if cbid != "" {
		id = "[CBID(UI64):0x" + cbid + "]"
	}
	return fmt.Sprintf("%s [AUDT:%s[VLID(UI64):20091127][RSLT(FC32):%s][AVER(UI32):7][ATIM(UI64):%d][ATYP(FC32):ARCE][ANID(UI32):%d][AMID(FC32):ARCI]]\n",
		at.Format("2006-01-02T15:04:05.000000"), id, result, at.UnixMicro(), node)
}

func writeAuditLog(t *testing.T, lines ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "audit.log"), []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFailedRetrievalsPicksTheNodesFailures(t *testing.T) {
	t0 := time.Date(2012, 10, 19, 2, 26, 42, 0, time.UTC)
	dir := writeAuditLog(t,
		arce(t0, string(testCBIDs[0]), "ARUN", 13959984),
		arce(t0.Add(time.Minute), string(testCBIDs[1]), "SUCS", 13959984), // retrieved
		arce(t0.Add(2*time.Minute), string(testCBIDs[2]), "ARUN", 42),     // another node
		arce(t0.Add(3*time.Minute), "", "GERR", 13959984),                 // no CBID
		arce(t0.Add(4*time.Minute), string(testCBIDs[1]), "GERR", 13959984),
	)
	var warnings []string
	src := AuditSource{Dir: dir, Warn: func(err error) { warnings = append(warnings, err.Error()) },
		Name: func(p string) string { return "/var/local/audit/export/" + filepath.Base(p) }}
	ts, err := FailedRetrievals(context.Background(), src, "013959984")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].CBID != testCBIDs[0] || ts[0].Result != "ARUN" || ts[1].CBID != testCBIDs[1] || ts[1].Result != "GERR" {
		t.Fatalf("targets %+v", ts)
	}
	if ts[0].NodeID != testNode || ts[0].VolumeID != "20091127" || !ts[0].Time.Equal(t0) || ts[0].Source != "/var/local/audit/export/audit.log:1" {
		t.Errorf("first target %+v", ts[0])
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "/var/local/audit/export/audit.log:4: ARCE message without a usable CBID") {
		t.Errorf("warnings %q", warnings)
	}

	src.Since = t0.Add(time.Minute)
	if ts, err := FailedRetrievals(context.Background(), src, testNode); err != nil || len(ts) != 1 || ts[0].CBID != testCBIDs[1] {
		t.Errorf("since the second minute: %+v, %v", ts, err)
	}
}

// A damaged file is passed over with a warning; what could be read is
// used, and the error (partial) says the logs are incomplete.
func TestFailedRetrievalsUsesWhatCouldBeRead(t *testing.T) {
	t0 := time.Date(2012, 10, 19, 2, 26, 42, 0, time.UTC)
	dir := writeAuditLog(t, arce(t0, string(testCBIDs[0]), "ARUN", 13959984))
	if err := os.WriteFile(filepath.Join(dir, "2012-10-18.txt.gz"), []byte("\x1f\x8b\x08 not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	src := AuditSource{Dir: dir, Warn: func(err error) { warnings = append(warnings, err.Error()) }}
	ts, err := FailedRetrievals(context.Background(), src, testNode)
	if fail.KindOf(err) != fail.Partial || len(ts) != 1 {
		t.Fatalf("%+v, %v", ts, err)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "2012-10-18.txt.gz") ||
		!strings.HasSuffix(warnings[1], "; using the messages that could be read") {
		t.Errorf("warnings %q", warnings)
	}
}

func TestFailedRetrievalsRefuses(t *testing.T) {
	_, err := FailedRetrievals(context.Background(), AuditSource{Dir: t.TempDir()}, "../1")
	if fail.KindOf(err) != fail.Usage {
		t.Errorf("bad node ID: %v, want a usage error", err)
	}
	_, err = FailedRetrievals(context.Background(), AuditSource{Dir: filepath.Join(t.TempDir(), "missing")}, testNode)
	if err == nil || fail.KindOf(err) == fail.Partial {
		t.Errorf("missing directory: %v, want a failure", err)
	}
}
