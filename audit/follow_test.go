package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// Follow never misses a line written after it said it follows the log:
// it starts at the end of a large live log (without reading it first),
// while two writers append to it and the log is rotated under them, round
// after round; each writer's lines written after OnFollow all arrive, in
// order, once.
func TestFollowNeverMissesALine(t *testing.T) {
	for round := 0; round < 5; round++ {
		dir := t.TempDir()
		live := filepath.Join(dir, "audit.log")
		var old strings.Builder
		for i := 0; i < 100000; i++ { // about 20 MB already in the log
			old.WriteString(line(i, "SPUT", "SUCS", 0, 1))
		}
		if err := os.WriteFile(live, []byte(old.String()), 0o644); err != nil {
			t.Fatal(err)
		}

		var rot sync.RWMutex // writers write under RLock; rotation takes Lock
		var seq [2]atomic.Int64
		var gen atomic.Int64
		stop := make(chan struct{})
		var writers sync.WaitGroup
		for w := range 2 {
			writers.Add(1)
			go func() {
				defer writers.Done()
				var f *os.File
				var fgen int64 = -1
				defer func() { f.Close() }()
				for {
					select {
					case <-stop:
						return
					default:
					}
					rot.RLock()
					if g := gen.Load(); g != fgen {
						f.Close()
						var err error
						if f, err = os.OpenFile(live, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
							rot.RUnlock()
							t.Error(err)
							return
						}
						fgen = g
					}
					n := seq[w].Add(1)
					f.WriteString(line(int(n), "ARCE", "ARUN", uint64(w+1)<<32|uint64(n), 1)) // never the marker CBID
					rot.RUnlock()
					if n%20 == 0 {
						time.Sleep(time.Millisecond) // a busy grid's pace, not a tight loop's
					}
				}
			}()
		}
		rotate := func(i int) {
			rot.Lock()
			defer rot.Unlock()
			if err := os.Rename(live, filepath.Join(dir, fmt.Sprintf("2024-05-%02d.txt", i+1))); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(live, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			gen.Add(1)
		}

		ctx, cancel := context.WithCancel(context.Background())
		c := &collector{}
		var from [2]int64
		following := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- Follow(ctx, FollowOptions{Path: live, Poll: 2 * time.Millisecond, Filter: Filter{Types: []string{"ARCE"}},
				OnError: c.onError, OnFollow: func(bool) {
					from[0], from[1] = seq[0].Load(), seq[1].Load()
					close(following)
				}}, c.add)
		}()
		<-following
		// The grid rotates once a day; here a rotation comes as soon as
		// Follow has reached the file the last one started (it has a
		// line written after it), which is as often as tail -F can keep
		// up with: a log rotated away before it was ever opened would be
		// missed by tail -F too.
		reached := func(after [2]int64) bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, m := range c.msgs {
				id, _ := ParseCBID(m.CBID)
				if int64(id&0xffffffff) > after[id>>32-1] {
					return true
				}
			}
			return false
		}
		for i := 0; i < 3; i++ {
			time.Sleep(20 * time.Millisecond)
			rotate(i)
			at := [2]int64{seq[0].Load(), seq[1].Load()}
			for wait := time.Now().Add(10 * time.Second); !reached(at) && time.Now().Before(wait); {
				time.Sleep(time.Millisecond)
			}
		}
		time.Sleep(30 * time.Millisecond)
		close(stop)
		writers.Wait()
		last := [2]int64{seq[0].Load(), seq[1].Load()}
		want := int(last[0]-from[0]) + int(last[1]-from[1])

		deadline := time.Now().Add(30 * time.Second)
		var got [2][]int64
		for {
			got = [2][]int64{}
			c.mu.Lock()
			for _, m := range c.msgs {
				id, _ := ParseCBID(m.CBID)
				w, n := int(id>>32)-1, int64(id&0xffffffff)
				if n > from[w] {
					got[w] = append(got[w], n)
				}
			}
			c.mu.Unlock()
			if len(got[0])+len(got[1]) >= want || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for w := range 2 {
			for i, n := range got[w] {
				if n != from[w]+int64(i)+1 {
					t.Fatalf("round %d: writer %d: line %d arrived as the %dth after %d (lines %d..%d written after OnFollow, %d arrived); errors %v",
						round, w, n, i+1, from[w], from[w]+1, last[w], len(got[w]), c.errs)
				}
			}
			if int64(len(got[w])) != last[w]-from[w] {
				t.Fatalf("round %d: writer %d: %d of the %d lines written after OnFollow arrived", round, w, len(got[w]), last[w]-from[w])
			}
		}
		c.mu.Lock()
		if len(c.errs) != 0 {
			t.Fatalf("round %d: errors: %v", round, c.errs)
		}
		c.mu.Unlock()
		t.Logf("round %d: %d lines after OnFollow, 3 rotations, none missed", round, want)
	}
}
