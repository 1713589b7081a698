package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJournal: steps done survive a reopen, a started step that did not
// finish is known as interrupted, a line cut by a kill is dropped (and
// the file repaired), another plan's journal and a second opener are
// refused.
func TestJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json.journal")
	j, err := OpenJournal(path, "hash-a")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][3]string{{"h1", StepStop, "start"}, {"h1", StepStop, "done"}, {"h1", StepPatch, "start"}} {
		if err := j.record(r[0], r[1], r[2]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := OpenJournal(path, "hash-a"); err == nil || !strings.Contains(err.Error(), "another run of this plan is going on") {
		t.Fatalf("second opener: %v", err)
	}
	j.Close()
	// A kill in the middle of a line.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"host":"h1","step":"patch","sta`)
	f.Close()
	j, err = OpenJournal(path, "hash-a")
	if err != nil {
		t.Fatal(err)
	}
	if !j.done("h1", StepStop) || j.done("h1", StepPatch) || !j.interrupted("h1", StepPatch) || j.interrupted("h1", StepStop) {
		t.Fatalf("done %v %v, interrupted %v %v", j.done("h1", StepStop), j.done("h1", StepPatch), j.interrupted("h1", StepPatch), j.interrupted("h1", StepStop))
	}
	if err := j.record("h1", StepPatch, "done"); err != nil {
		t.Fatal(err)
	}
	j.Close()
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), `"sta`+"\n") || strings.Count(string(b), "\n") != 5 {
		t.Fatalf("journal not repaired:\n%s", b)
	}
	if _, err := OpenJournal(path, "hash-b"); err == nil || !strings.Contains(err.Error(), "the journal of another plan") {
		t.Fatalf("other plan: %v", err)
	}
	os.WriteFile(path, []byte("{\"plan\":\"hash-a\"}\nnot json\n"), 0o644)
	if _, err := OpenJournal(path, "hash-a"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("garbage: %v", err)
	}
}
