package archive

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/archive/adesim"
	"github.com/storagegrid/storagegrid/internal/fail"
)

const testNode = "13959984"

var testCBIDs = []CBID{"498D8A1F681F05B3", "C1D172940E6C7E12", "F1D7FBC2B4B0779E"}

func targets(ids ...CBID) []Target {
	var ts []Target
	base := time.Date(2012, 10, 19, 2, 26, 42, 0, time.UTC)
	for i, c := range ids {
		ts = append(ts, Target{CBID: c, NodeID: testNode, VolumeID: "20091127", Result: "ARUN",
			Time: base.Add(time.Duration(i) * time.Minute)})
	}
	return ts
}

func openJournal(t *testing.T, path string) *Journal {
	t.Helper()
	j, err := OpenJournal(path, "/var/lib/storagegrid/archive/"+filepath.Base(path), testNode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// runRecovery plans and executes like `archive recover --yes`.
func runRecovery(ctx context.Context, addr, journal string, ids []CBID, retry []CBID, timeout time.Duration) (Summary, error) {
	return runRecoveryWith(ctx, addr, journal, ids, retry, timeout, false)
}

func runRecoveryWith(ctx context.Context, addr, journal string, ids []CBID, retry []CBID, timeout time.Duration, keepGoing bool) (Summary, error) {
	j, err := OpenJournal(journal, journal, testNode)
	if err != nil {
		return Summary{}, err
	}
	defer j.Close()
	items := Plan(targets(ids...), testNode, j, retry)
	ex := &Executor{NodeID: testNode, Journal: j, KeepGoing: keepGoing, Dial: func(ctx context.Context) (Session, error) {
		return Dial(ctx, testOptions(addr, timeout))
	}}
	sum, err := ex.Execute(ctx, items)
	if err != nil {
		return sum, err
	}
	return sum, sum.Err()
}

func count(list []string, substr string) int {
	n := 0
	for _, s := range list {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

func TestPlanDedupesAndFilters(t *testing.T) {
	j := openJournal(t, filepath.Join(t.TempDir(), "j.jsonl"))
	ts := targets(testCBIDs[1], testCBIDs[0], testCBIDs[1])
	ts[2].Time = ts[0].Time.Add(-time.Hour) // an older failure of the same object
	ts = append(ts, Target{CBID: testCBIDs[2], NodeID: "999", Time: ts[0].Time})
	items := Plan(ts, testNode, j, nil)
	if len(items) != 2 || items[0].CBID != testCBIDs[1] || items[0].Failures != 2 || items[1].CBID != testCBIDs[0] {
		t.Fatalf("plan = %+v", items)
	}
	for _, it := range items {
		if it.Action != ActCancelAndLose {
			t.Errorf("%s: action %s", it.CBID, it.Action)
		}
	}
}

func TestRecoverRerunSendsNothingTwice(t *testing.T) {
	s := startSim(t, adesim.Config{Results: map[string]string{string(testCBIDs[2]): "FAIL"}})
	path := filepath.Join(t.TempDir(), "j.jsonl")
	sum, err := runRecovery(context.Background(), s.Addr(), path, testCBIDs, nil, 5*time.Second)
	if fail.KindOf(err) != fail.Partial || sum.Count(OutLost) != 2 || sum.Count(OutFailed) != 1 {
		t.Fatalf("first run: %v %+v", err, sum)
	}
	if r := sum.Results[2]; r.Code != "FAIL" || !strings.Contains(r.Error, "'FAIL'") {
		t.Errorf("FAIL result: %+v", r)
	}
	// The rerun skips the two lost objects and retries only the failed
	// Object_Lost (its cancel is journaled, so not resent).
	sum, _ = runRecovery(context.Background(), s.Addr(), path, testCBIDs, nil, 5*time.Second)
	if sum.Count(OutAlreadyLost) != 2 || sum.Count(OutFailed) != 1 {
		t.Fatalf("rerun: %+v", sum)
	}
	got := s.Received()
	for i, c := range testCBIDs {
		wantLost := 1
		if i == 2 {
			wantLost = 2
		}
		if n := count(got, "cancel -c "+string(c)); n != 1 {
			t.Errorf("%s: cancel sent %d times", c, n)
		}
		if n := count(got, "Object_Lost "+string(c)); n != wantLost {
			t.Errorf("%s: Object_Lost sent %d times, want %d", c, n, wantLost)
		}
	}
}

// An Object_Lost whose reply never arrives (the console acted, then the
// session died) is journaled unknown, stops the run there (exit 4, the
// rest not attempted), and is not resent by a rerun; only an explicit
// retry sends it again.
func TestRecoverUnknownOutcomeIsHeld(t *testing.T) {
	victim := testCBIDs[1]
	s := startSim(t, adesim.Config{Faults: []adesim.Fault{{Kind: adesim.NoPrompt, Match: "Object_Lost " + string(victim), Times: 1}}})
	path := filepath.Join(t.TempDir(), "j.jsonl")
	sum, err := runRecovery(context.Background(), s.Addr(), path, testCBIDs, nil, 300*time.Millisecond)
	var stopped *StoppedError
	if fail.KindOf(err) != fail.Partial || !errors.As(err, &stopped) || stopped.CBID != victim || stopped.Left != 1 ||
		sum.Results[1].Outcome != OutUnknown || sum.Count(OutLost) != 1 || sum.Results[2].Outcome != OutNotAttempted {
		t.Fatalf("first run: %v %+v", err, sum)
	}
	if n := count(s.Received(), "Object_Lost "+string(testCBIDs[2])); n != 0 {
		t.Fatalf("the run went on past the unknown outcome: %d sends for the next object", n)
	}
	sum, _ = runRecovery(context.Background(), s.Addr(), path, testCBIDs, nil, 5*time.Second)
	if sum.Results[1].Outcome != OutUnknown || sum.Count(OutAlreadyLost) != 1 || sum.Count(OutLost) != 1 {
		t.Fatalf("rerun: %+v", sum)
	}
	if n := count(s.Received(), "Object_Lost "+string(victim)); n != 1 {
		t.Fatalf("Object_Lost for the unknown object sent %d times", n)
	}
	// The console did act: the operator marks it instead of retrying.
	j := openJournal(t, path)
	if err := j.MarkLost(victim, false); err != nil {
		t.Fatal(err)
	}
	j.Close()
	sum, err = runRecovery(context.Background(), s.Addr(), path, testCBIDs, []CBID{victim}, 5*time.Second)
	if err != nil || sum.Count(OutAlreadyLost) != 3 {
		t.Fatalf("after mark: %v %+v", err, sum)
	}
	for _, c := range testCBIDs {
		if s.Lost(string(c)) != 1 || count(s.Received(), "Object_Lost "+string(c)) != 1 {
			t.Errorf("%s: lost %d times, sent %d", c, s.Lost(string(c)), count(s.Received(), "Object_Lost "+string(c)))
		}
	}
}

// With KeepGoing (--keep-going) the run sends on past an unknown outcome,
// as it did before it stopped there.
func TestRecoverKeepGoingPastUnknown(t *testing.T) {
	victim := testCBIDs[1]
	s := startSim(t, adesim.Config{Faults: []adesim.Fault{{Kind: adesim.NoPrompt, Match: "Object_Lost " + string(victim), Times: 1}}})
	path := filepath.Join(t.TempDir(), "j.jsonl")
	sum, err := runRecoveryWith(context.Background(), s.Addr(), path, testCBIDs, nil, 300*time.Millisecond, true)
	var stopped *StoppedError
	if fail.KindOf(err) != fail.Partial || errors.As(err, &stopped) || sum.Results[1].Outcome != OutUnknown || sum.Count(OutLost) != 2 {
		t.Fatalf("%v %+v", err, sum)
	}
}

// --mark-lost is for an Object_Lost the journal sent: a CBID it never
// sent one for (or never heard of) is refused and nothing is written;
// with outside (the global --force) it is journaled as decided outside.
func TestMarkLostRefusesWhatWasNeverSent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := openJournal(t, path)
	defer j.Close()
	if err := j.Append(Record{CBID: testCBIDs[0], Op: OpCancel, State: stateDone}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	for _, c := range testCBIDs[:2] {
		err := j.MarkLost(c, false)
		if fail.KindOf(err) != fail.Refused || !strings.Contains(err.Error(), "nothing to mark lost") {
			t.Fatalf("%s: %v", c, err)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a refused mark-lost wrote to the journal")
	}
	if err := j.MarkLost(testCBIDs[1], true); err != nil {
		t.Fatal(err)
	}
	if p := j.Progress(testCBIDs[1]); p.Status != StatusLost {
		t.Fatalf("%+v", p)
	}
	if after, _ := os.ReadFile(path); !bytes.Contains(after, []byte(`"outside":true`)) {
		t.Fatalf("not journaled as decided outside: %s", after)
	}
}

func TestRecoverConnectionRefusedSendsNothing(t *testing.T) {
	s := startSim(t, adesim.Config{})
	addr := s.Addr()
	s.Close()
	path := filepath.Join(t.TempDir(), "j.jsonl")
	sum, err := runRecovery(context.Background(), addr, path, testCBIDs, nil, time.Second)
	if err == nil || sum.Count(OutNotAttempted) != 3 || !strings.Contains(sum.Results[0].Error, "connection refused") {
		t.Fatalf("%v %+v", err, sum)
	}
	j := openJournal(t, path)
	if len(j.All()) != 0 {
		t.Errorf("journal has records: %+v", j.All())
	}
}

func TestJournalReplayAndDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.jsonl")
	j := openJournal(t, path)
	one := 1
	for _, r := range []Record{
		{CBID: testCBIDs[0], Op: OpCancel, State: stateSending},
		{CBID: testCBIDs[0], Op: OpCancel, State: stateDone, Cancelled: &one},
		{CBID: testCBIDs[0], Op: OpObjectLost, State: stateSending},
		{CBID: testCBIDs[0], Op: OpObjectLost, State: stateDone, Result: "SUCS"},
		{CBID: testCBIDs[1], Op: OpCancel, State: stateSending},
		{CBID: testCBIDs[1], Op: OpCancel, State: stateDone, Cancelled: &one},
		{CBID: testCBIDs[1], Op: OpObjectLost, State: stateSending},
	} {
		if err := j.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	// A crash mid-append leaves a torn line: it is cut off on open.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2024-01-01T00:00:00Z","node_id":"13959984","cbid":"F1D7FB`)
	f.Close()
	j = openJournal(t, path)
	want := map[CBID]Status{testCBIDs[0]: StatusLost, testCBIDs[1]: StatusUnknown, testCBIDs[2]: StatusPending}
	for c, st := range want {
		if p := j.Progress(c); p.Status != st {
			t.Errorf("%s: %s, want %s", c, p.Status, st)
		}
	}
	if p := j.Progress(testCBIDs[1]); p.LostSends != 1 || p.Cancelled == nil || *p.Cancelled != 1 {
		t.Errorf("progress %+v", p)
	}
	j.Close()
	data, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(data), "}\n") {
		t.Errorf("torn tail not removed: %q", data[len(data)-20:])
	}

	// Damage in the middle is refused with the line number; nothing is
	// rewritten.
	lines := strings.Split(string(data), "\n")
	lines[2] = `{"garbage"`
	bad := strings.Join(lines, "\n")
	os.WriteFile(path, []byte(bad), 0o600)
	if _, err := OpenJournal(path, "/var/lib/storagegrid/archive/j.jsonl", testNode); err == nil ||
		!strings.Contains(err.Error(), "/var/lib/storagegrid/archive/j.jsonl:3") {
		t.Fatalf("damaged journal: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != bad {
		t.Error("damaged journal was modified")
	}
	// Another node's journal is refused.
	os.WriteFile(path, data, 0o600)
	if _, err := OpenJournal(path, path, "42"); err == nil || !strings.Contains(err.Error(), `node "13959984"`) {
		t.Fatalf("wrong node: %v", err)
	}
}

// The kill tests run the recovery in a child process (this test binary,
// re-executed) and SIGKILL it at a chosen point, as a crash or an
// operator's kill -9 would.
const helperEnv = "ARCHIVE_TEST_RECOVER_HELPER"

func TestRecoverHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		return
	}
	ids, _ := ParseCBIDs(strings.Fields(os.Getenv("HELPER_CBIDS")))
	retry, _ := ParseCBIDs(strings.Fields(os.Getenv("HELPER_RETRY")))
	_, err := runRecovery(context.Background(), os.Getenv("HELPER_ADDR"), os.Getenv("HELPER_JOURNAL"), ids, retry, 5*time.Second)
	switch {
	case err == nil:
		os.Exit(0)
	case fail.KindOf(err) == fail.Partial:
		os.Exit(4)
	}
	os.Exit(1)
}

func helper(t *testing.T, addr, journal string, retry ...CBID) *exec.Cmd {
	t.Helper()
	var ids, rs []string
	for _, c := range testCBIDs {
		ids = append(ids, string(c))
	}
	for _, c := range retry {
		rs = append(rs, string(c))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRecoverHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "HELPER_ADDR="+addr, "HELPER_JOURNAL="+journal,
		"HELPER_CBIDS="+strings.Join(ids, " "), "HELPER_RETRY="+strings.Join(rs, " "))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func killWhenReceived(t *testing.T, s *adesim.Server, cmd *exec.Cmd, command string) {
	t.Helper()
	waitFor(t, func() bool { return count(s.Received(), command) > 0 })
	cmd.Process.Kill()
	if code := exitCode(t, cmd); code != -int(syscall.SIGKILL) {
		t.Fatalf("helper ended with %d before the kill", code)
	}
}

// Killed after the cancel went out, before Object_Lost: the rerun resends
// only the harmless cancel, then Object_Lost once.
func TestRecoverKilledBetweenCancelAndObjectLost(t *testing.T) {
	victim := testCBIDs[1]
	s := startSim(t, adesim.Config{Faults: []adesim.Fault{{Kind: adesim.Hang, Match: "cancel -c " + string(victim), Times: 1}}})
	journal := filepath.Join(t.TempDir(), "j.jsonl")
	killWhenReceived(t, s, helper(t, s.Addr(), journal), "cancel -c "+string(victim))
	if n := count(s.Received(), "Object_Lost "+string(victim)); n != 0 {
		t.Fatalf("Object_Lost sent before the kill: %d", n)
	}
	if code := exitCode(t, helper(t, s.Addr(), journal)); code != 0 {
		t.Fatalf("rerun exited %d", code)
	}
	for _, c := range testCBIDs {
		if s.Lost(string(c)) != 1 || count(s.Received(), "Object_Lost "+string(c)) != 1 {
			t.Errorf("%s: SUCS %d times, Object_Lost sent %d times", c, s.Lost(string(c)), count(s.Received(), "Object_Lost "+string(c)))
		}
	}
}

// Killed while Object_Lost awaited its reply: the rerun must not resend
// it; after the operator checks, --retry-unknown sends it once more.
func TestRecoverKilledDuringObjectLost(t *testing.T) {
	victim := testCBIDs[1]
	s := startSim(t, adesim.Config{Faults: []adesim.Fault{{Kind: adesim.Hang, Match: "Object_Lost " + string(victim), Times: 1}}})
	journal := filepath.Join(t.TempDir(), "j.jsonl")
	killWhenReceived(t, s, helper(t, s.Addr(), journal), "Object_Lost "+string(victim))
	if code := exitCode(t, helper(t, s.Addr(), journal)); code != 4 {
		t.Fatalf("rerun exited %d, want 4 (one object held)", code)
	}
	if n := count(s.Received(), "Object_Lost "+string(victim)); n != 1 {
		t.Fatalf("held Object_Lost resent: sent %d times", n)
	}
	if code := exitCode(t, helper(t, s.Addr(), journal, victim)); code != 0 {
		t.Fatalf("retry run exited %d", code)
	}
	for _, c := range testCBIDs {
		if s.Lost(string(c)) != 1 {
			t.Errorf("%s: SUCS %d times", c, s.Lost(string(c)))
		}
	}
}

func TestPlanHoldsUnknownOutcomesAndCountsSends(t *testing.T) {
	j := openJournal(t, filepath.Join(t.TempDir(), "j.jsonl"))
	for _, r := range []Record{
		{CBID: testCBIDs[0], Op: OpObjectLost, State: stateDone, Result: ResultSuccess},
		{CBID: testCBIDs[1], Op: OpObjectLost, State: stateUnknown, Error: "connection closed"},
	} {
		if err := j.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	items := Plan(targets(testCBIDs...), testNode, j, nil)
	if held := Held(items); len(held) != 1 || held[0] != testCBIDs[1] {
		t.Errorf("held %v, want only %s", held, testCBIDs[1])
	}
	if n := CountSends(items); n != 1 {
		t.Errorf("%d items send, want 1 (the untouched one)", n)
	}
	items = Plan(targets(testCBIDs...), testNode, j, []CBID{testCBIDs[1]})
	if held, n := Held(items), CountSends(items); len(held) != 0 || n != 2 {
		t.Errorf("with a retry: held %v and %d sends, want none held and 2 sends", held, n)
	}
}

func TestNeedsManualStepOnceAnObjectIsLost(t *testing.T) {
	for _, tc := range []struct {
		outcomes []Outcome
		want     bool
	}{
		{[]Outcome{OutFailed, OutUnknown, OutNotAttempted, OutUnconfirmed}, false},
		{[]Outcome{OutFailed, OutLost}, true},
		{[]Outcome{OutAlreadyLost}, true},
		{nil, false},
	} {
		var s Summary
		for i, o := range tc.outcomes {
			s.Results = append(s.Results, Result{CBID: testCBIDs[i%len(testCBIDs)], Outcome: o})
		}
		if got := s.NeedsManualStep(); got != tc.want {
			t.Errorf("%v: NeedsManualStep = %v, want %v", tc.outcomes, got, tc.want)
		}
	}
}
