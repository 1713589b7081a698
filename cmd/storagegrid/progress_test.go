package main

import (
	"bytes"
	"testing"
	"time"
)

// A wait is silent for its first 2 s; then on a terminal one line is
// rewritten in place (and taken down at the end), while a log gets a
// line per state change, each saying what is awaited, the state, the time
// elapsed and the time left.
func TestProgressLines(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var buf bytes.Buffer
		clock := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
		p := &progress{w: &buf, tty: tty, what: "node DC1-S3 to shut down", limit: 630 * time.Second,
			now: func() time.Time { return clock }}
		p.start = clock
		for i, state := range []string{"Stopping", "Stopping", "Stopping", "Stopping", "Not-Running"} {
			clock = p.start.Add(time.Duration(i) * time.Second)
			p.Show(state)
		}
		p.Done()
		got := buf.String()
		if !tty {
			want := "storagegrid: Waiting for node DC1-S3 to shut down: Stopping, 2s elapsed, 10m28s left\n" +
				"storagegrid: Waiting for node DC1-S3 to shut down: Not-Running, 4s elapsed, 10m26s left\n"
			if got != want {
				t.Fatalf("log lines:\n%q\nwant\n%q", got, want)
			}
			continue
		}
		want := "\r\x1b[KWaiting for node DC1-S3 to shut down: Stopping, 2s elapsed, 10m28s left" +
			"\r\x1b[KWaiting for node DC1-S3 to shut down: Stopping, 3s elapsed, 10m27s left" +
			"\r\x1b[KWaiting for node DC1-S3 to shut down: Not-Running, 4s elapsed, 10m26s left" +
			"\r\x1b[K"
		if got != want {
			t.Fatalf("terminal:\n%q\nwant\n%q", got, want)
		}
	}
}

// With -q a wait prints nothing; a wait shorter than 2 s never shows.
func TestProgressQuietAndShort(t *testing.T) {
	var buf bytes.Buffer
	g := &globals{stderr: &buf, quiet: true}
	p := g.newProgress("x", 0)
	p.start = p.start.Add(-time.Minute)
	p.Show("Stopping")
	g.quiet = false
	err := g.await("node X to start", 0, func() string { return "Starting" }, func() error { return nil })
	if err != nil || buf.Len() != 0 {
		t.Fatalf("printed %q (%v)", buf.String(), err)
	}
}
