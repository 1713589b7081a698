package audit

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// collector gathers followed messages for polling assertions.
type collector struct {
	mu      sync.Mutex
	msgs    []Message
	errs    []error
	markers int
}

// marker is the CBID of messages written only to learn that Follow has
// opened the log; they are counted, not collected.
const marker = 0x55

func (c *collector) add(m Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.CBID == FormatCBID(marker) {
		c.markers++
		return nil
	}
	c.msgs = append(c.msgs, m)
	return nil
}

func (c *collector) sawMarker() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.markers > 0
}

func (c *collector) onError(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err)
}

// waitFor polls until n messages arrived and returns their CBIDs (last
// hex digits) with file:line.
func (c *collector) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		var got []string
		for _, m := range c.msgs {
			got = append(got, strings.TrimLeft(m.CBID, "0")+"@"+filepath.Base(m.File)+":"+strconv.Itoa(m.Line))
		}
		c.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func appendTo(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// Follow survives the grid's daily rotation for real: the log is renamed
// to yyyy-mm-dd.txt while followed, the writer still appends to the old
// file, then a new audit.log starts.
func TestFollowRotation(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "audit.log")
	w, err := os.Create(live)
	if err != nil {
		t.Fatal(err)
	}
	appendTo(t, w, line(0, "ARCE", "ARUN", 0xF, 1)) // before following: not shown
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := &collector{}
	go func() {
		done <- Follow(ctx, FollowOptions{Path: live, Poll: 5 * time.Millisecond, Filter: Filter{Types: []string{"ARCE"}},
			OnError: c.onError}, c.add)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Follow: %v", err)
		}
	}()
	// Write markers until one is seen: then Follow has the log open, and
	// everything written from now on must be seen.
	markers := 0
	for ; !c.sawMarker(); markers++ {
		appendTo(t, w, line(1, "ARCE", "ARUN", marker, 1))
		time.Sleep(5 * time.Millisecond)
	}
	at := func(cbid string, line int) string { return cbid + "@audit.log:" + strconv.Itoa(line+markers) }
	appendTo(t, w, line(1, "ARCE", "ARUN", 0xA, 1)+line(1, "SPUT", "SUCS", 0x99, 1))
	if got := c.waitFor(t, 1); !slices.Equal(got, []string{at("A", 2)}) {
		t.Fatalf("before rotation: %v", got)
	}
	// A message written in two parts, and one wrapped over two lines.
	b := line(2, "ARCE", "ARUN", 0xB, 1)
	appendTo(t, w, b[:40])
	time.Sleep(20 * time.Millisecond)
	appendTo(t, w, b[40:])
	appendTo(t, w, "[AUDT:[CBID(UI64):0xC][ATIM(UI64):1714521603000000]\n")
	time.Sleep(20 * time.Millisecond)
	appendTo(t, w, "  [ATYP(FC32):ARCE]]\n")
	if got := c.waitFor(t, 3); len(got) != 3 || got[1] != at("B", 4) || got[2] != at("C", 5) {
		t.Fatalf("partial writes: %v", got)
	}

	if err := os.Rename(live, filepath.Join(dir, "2024-05-01.txt")); err != nil {
		t.Fatal(err)
	}
	appendTo(t, w, line(4, "ARCE", "ARUN", 0xD, 1)) // late write to the rotated file
	w.Close()
	w2, err := os.Create(live)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	appendTo(t, w2, line(5, "ARCE", "GERR", 0xE, 1))
	got := c.waitFor(t, 5)
	appendTo(t, w2, line(6, "ARCE", "GERR", 0x1, 1))
	got = c.waitFor(t, 6)
	want := []string{at("A", 2), at("B", 4), at("C", 5), at("D", 7), "E@audit.log:1", "1@audit.log:2"}
	if !slices.Equal(got, want) {
		t.Fatalf("across rotation: %v, want %v", got, want)
	}

	// Truncated in place: read again from the start.
	if err := w2.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, w2, line(7, "ARCE", "GERR", 0x2, 1))
	if got := c.waitFor(t, 7); len(got) != 7 || got[6] != "2@audit.log:1" {
		t.Fatalf("after truncation: %v", got)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) != 0 {
		t.Fatalf("errors: %v", c.errs)
	}
}

// A log that does not exist yet is waited for and read from its start.
func TestFollowWaitsForLog(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "audit.log")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := &collector{}
	go func() { done <- Follow(ctx, FollowOptions{Path: live, Poll: 5 * time.Millisecond}, c.add) }()
	// Follow must be running, not returned, before the log appears; a
	// late start would still pass, so this only makes the case likely.
	time.Sleep(20 * time.Millisecond)
	write(t, live, line(1, "SPUT", "SUCS", 0x3, 1))
	if got := c.waitFor(t, 1); !slices.Equal(got, []string{"3@audit.log:1"}) {
		t.Fatalf("got %v", got)
	}
	// The follower stops with its context, before the directory goes.
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Follow: %v", err)
	}
}
