package archive

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// One command per node at a time: a second writer is refused while the
// first holds the journal, and gets it once the first closes.
func TestNodeJournalIsLockedPerNode(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	ctx := context.Background()
	j, err := OpenNodeJournal(ctx, root, testNode)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.MarkLost(testCBIDs[0], true); err != nil { // declared lost outside: a write
		t.Fatal(err)
	}
	if want := JournalDir + "/recover-" + testNode + ".jsonl"; j.Path() != want {
		t.Errorf("path %s, want %s", j.Path(), want)
	}
	if _, err := os.Stat(root.Join(j.Path())); err != nil {
		t.Errorf("journal not under the root: %v", err)
	}
	busy, cancel := context.WithTimeout(ctx, 50*time.Millisecond) // not the full lockWait
	defer cancel()
	_, err = OpenNodeJournal(busy, root, testNode)
	if fail.KindOf(err) != fail.Refused || !strings.Contains(err.Error(), "another archive command for node "+testNode) {
		t.Fatalf("second writer: %v, want refused", err)
	}
	other, err := OpenNodeJournal(ctx, root, "42")
	if err != nil {
		t.Fatalf("another node's journal: %v", err)
	}
	other.Close()
	// Readers need no lock.
	r, err := LoadNodeJournal(root, testNode)
	if err != nil || r.Progress(testCBIDs[0]).Status != StatusLost {
		t.Fatalf("read-only load while locked: %v %+v", err, r)
	}
	j.Close()
	j, err = OpenNodeJournal(ctx, root, testNode)
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	j.Close()
}

func TestNodeJournalRefusesBadNodeIDs(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	for _, id := range []string{"../13959984", "", "0", "x1"} {
		if _, err := OpenNodeJournal(context.Background(), root, id); err == nil {
			t.Errorf("OpenNodeJournal(%q) succeeded", id)
		}
		if _, err := LoadNodeJournal(root, id); err == nil {
			t.Errorf("LoadNodeJournal(%q) succeeded", id)
		}
	}
	if names, _ := filepath.Glob(filepath.Join(string(root), "*")); len(names) != 0 {
		t.Errorf("bad node IDs created %v", names)
	}
}

func TestLoadNodeJournalCreatesNothing(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	j, err := LoadNodeJournal(root, testNode)
	if err != nil || len(j.All()) != 0 {
		t.Fatalf("%v %+v", err, j)
	}
	if err := j.MarkLost(testCBIDs[0], false); err == nil {
		t.Error("a read-only journal took a record")
	}
	if names, _ := filepath.Glob(filepath.Join(string(root), "*")); len(names) != 0 {
		t.Errorf("a read-only load created %v", names)
	}
}
