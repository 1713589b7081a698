package archive

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseActlogRunbookEntry(t *testing.T) {
	got := ParseActlog(readTestdata(t, "actlog.txt"))
	if len(got) != 2 {
		t.Fatalf("entries = %+v", got)
	}
	want := ActlogEntry{Date: "12/21/2008 05:39:15", MessageID: "ANR0548W",
		Text: "ANR0548W Retrieve or restore failed for session 9139359 for node DEV-ARC-20 (Bicast ARC) " +
			"processing file space /19130020 4 for file /20081002/ 498D8A1F681F05B3 stored as Archive - data " +
			"integrity error detected. (SESSION: 9139359)",
		Session: "9139359", Node: "DEV-ARC-20", Filespace: "/19130020", VolumeID: "20081002",
		CBID: "498D8A1F681F05B3", IntegrityError: true}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("got  %+v\nwant %+v", got[0], want)
	}
	if got[1].MessageID != "ANR0406I" || got[1].IntegrityError || got[1].CBID != "" {
		t.Errorf("second entry %+v", got[1])
	}
}

func TestParseContent(t *testing.T) {
	got, err := ParseContent(readTestdata(t, "content.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.VolumeID+"/"+string(e.CBID)+"@"+e.NodeID)
	}
	want := []string{"20081201/C1D172940E6C7E12@19130020", "20081201/F1D7FBC2B4B0779E@19130020", "20081202/0A1B2C3D4E5F6071@19130020"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("got %q, want %q", ids, want)
	}
	bad := "DEV-ARC-20    Arch /19130020  216 /20081201/ C1D17294\n"
	if _, err := ParseContent(bad); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("malformed row: %v", err)
	}
	if got, err := ParseContent("ANR2034E QUERY CONTENT: No match found using this criteria.\n"); err != nil || len(got) != 0 {
		t.Errorf("no match: %v %v", got, err)
	}
}

const secret = "s3cr3t-Pa55"

// fakeDsmadmc writes a dsmadmc stand-in that records its argv, its
// environment and its stdin under dir and prints canned output.
func fakeDsmadmc(t *testing.T, dir string) string {
	t.Helper()
	for _, n := range []string{"actlog.txt", "content.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(readTestdata(t, n)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/bin/sh
d=$(dirname "$0")
for a in "$@"; do printf '%s\n' "$a"; done >> "$d/argv"
env > "$d/env"
printf 'Enter your password: '
IFS= read -r pw
printf '%s\n' "$pw" > "$d/stdin"
[ "$pw" = "` + secret + `" ] || { echo "ANS1025E Session rejected: Authentication failure (got $pw)"; exit 2; }
case "$*" in
*"search=498D8A1F681F05B3"*) cat "$d/actlog.txt" ;;
*"query actlog"*) echo "ANR2034E QUERY ACTLOG: No match found using this criteria."; exit 11 ;;
*"query content VOL001"*) cat "$d/content.txt" ;;
*) echo "ANR2000E Unknown command"; exit 3 ;;
esac
`
	path := filepath.Join(dir, "dsmadmc")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func newTestTSM(t *testing.T) (*TSM, string) {
	t.Helper()
	dir := t.TempDir()
	tsm, err := NewTSM(fakeDsmadmc(t, dir), "arcadmin", secret)
	if err != nil {
		t.Fatal(err)
	}
	return tsm, dir
}

func TestTSMCheckKeepsPasswordOutOfArgvAndEnv(t *testing.T) {
	tsm, dir := newTestTSM(t)
	ctx := context.Background()
	ev, err := tsm.Check(ctx, "498D8A1F681F05B3", 1)
	if err != nil || !ev.Confirmed || len(ev.Entries) != 2 {
		t.Fatalf("check: %+v, %v", ev, err)
	}
	argv, _ := os.ReadFile(filepath.Join(dir, "argv"))
	if want := "-id=arcadmin\n-dataonly=yes\nquery actlog begindate=-1 search=498D8A1F681F05B3\n"; string(argv) != want {
		t.Errorf("argv %q, want %q", argv, want)
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	if strings.Contains(string(argv)+string(env), secret) {
		t.Error("password in argv or environment")
	}
	if in, _ := os.ReadFile(filepath.Join(dir, "stdin")); string(in) != secret+"\n" {
		t.Errorf("stdin %q", in)
	}

	ev, err = tsm.Check(ctx, "C1D172940E6C7E12", 3)
	if err != nil || ev.Confirmed || len(ev.Entries) != 0 {
		t.Errorf("no match: %+v, %v", ev, err)
	}
	entries, err := tsm.Content(ctx, "VOL001")
	if err != nil || len(entries) != 3 {
		t.Errorf("content: %+v, %v", entries, err)
	}
	if _, err := tsm.Content(ctx, "VOL001 search=x"); err == nil {
		t.Error("volume name with a space accepted")
	}
}

func TestTSMErrorsNeverShowThePassword(t *testing.T) {
	tsm, dir := newTestTSM(t)
	// A server that echoes what it got must not leak it through our error.
	tsm.pass = secret + "-wrong"
	_, err := tsm.Check(context.Background(), "498D8A1F681F05B3", 1)
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "TSM messages ANS1025E") {
		t.Fatalf("err = %v", err)
	}
	if _, err := tsm.Query(context.Background(), "frobnicate"); err == nil || !strings.Contains(err.Error(), `dsmadmc "frobnicate"`) {
		t.Errorf("unknown command: %v", err)
	}
	missing := &TSM{Path: filepath.Join(dir, "nope"), AdminID: "a", pass: secret}
	if _, err := missing.Query(context.Background(), "query actlog"); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("missing dsmadmc: %v", err)
	}
}

func TestNewTSMChecksSettings(t *testing.T) {
	for _, tc := range []struct{ id, pass, want string }{
		{"", "pw", "admin_id"},
		{"a b", "pw", "admin_id"},
		{"admin", "", "one non-empty line"},
		{"admin", "pw\nmore", "one non-empty line"},
	} {
		if _, err := NewTSM("/bin/true", tc.id, tc.pass); err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pw") {
			t.Errorf("NewTSM(%q) = %v, want %q", tc.id, err, tc.want)
		}
	}
}

func TestVerifyHoldsUnconfirmed(t *testing.T) {
	tsm, _ := newTestTSM(t)
	j := openJournal(t, filepath.Join(t.TempDir(), "j.jsonl"))
	items := Plan(targets(testCBIDs[0], testCBIDs[1]), testNode, j, nil)
	now := items[0].Time.Add(36 * time.Hour)
	if err := Verify(context.Background(), tsm, items, now); err != nil {
		t.Fatal(err)
	}
	if items[0].Action != ActCancelAndLose || items[0].TSM == nil || items[0].TSM.Days != 2 {
		t.Errorf("confirmed item: %+v", items[0])
	}
	if items[1].Action != ActUnconfirmed {
		t.Errorf("unconfirmed item: %+v", items[1])
	}
}

func TestCheckAllNamesTheProof(t *testing.T) {
	tsm, _ := newTestTSM(t)
	evs, err := tsm.CheckAll(context.Background(), []CBID{"498D8A1F681F05B3", "C1D172940E6C7E12"}, 1)
	if err != nil || len(evs) != 2 {
		t.Fatalf("CheckAll: %+v, %v", evs, err)
	}
	// The activity log holds a second, unrelated entry after the proof.
	if e, ok := evs[0].Proof(); !ok || e.MessageID != "ANR0548W" || e.Session != "9139359" || e.VolumeID != "20081002" {
		t.Errorf("proof of the first CBID: %+v, %v", e, ok)
	}
	if e, ok := evs[1].Proof(); ok {
		t.Errorf("proof of a CBID the log does not name: %+v", e)
	}
	err = Unconfirmed(evs)
	if fail.KindOf(err) != fail.Partial || !strings.Contains(err.Error(), "1 of 2 CBIDs not confirmed") {
		t.Errorf("Unconfirmed = %v, want partial: 1 of 2", err)
	}
	if err := Unconfirmed(evs[:1]); err != nil {
		t.Errorf("Unconfirmed(confirmed) = %v", err)
	}
}

func TestCheckAllStopsAtAFailedQuery(t *testing.T) {
	tsm, dir := newTestTSM(t)
	tsm.pass = secret + "-wrong"
	evs, err := tsm.CheckAll(context.Background(), []CBID{"498D8A1F681F05B3", "C1D172940E6C7E12"}, 1)
	if err == nil || evs != nil {
		t.Fatalf("CheckAll with a rejected password: %+v, %v", evs, err)
	}
	if argv, _ := os.ReadFile(filepath.Join(dir, "argv")); strings.Contains(string(argv), "C1D172940E6C7E12") {
		t.Error("the second CBID was queried after the first query failed")
	}
}
