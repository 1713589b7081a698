package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
)

// progressAfter is how long a wait goes unreported: shorter waits end
// before an operator wonders.
const progressAfter = 2 * time.Second

// progress reports a wait on stderr, so that stdout (the runbook's lines,
// JSON) is never touched: on a terminal one line, rewritten each second,
// says what is awaited, its state, the time elapsed and the time left;
// elsewhere (a log, a pipe) one line per state change. Nothing with -q.
type progress struct {
	w     io.Writer
	tty   bool
	what  string        // "node DC1-S3 to shut down"
	limit time.Duration // 0: no limit
	start time.Time
	now   func() time.Time
	state string // the state last reported
	drawn bool   // a terminal line is up
}

func (g *globals) newProgress(what string, limit time.Duration) *progress {
	p := &progress{w: g.stderr, what: what, limit: limit, now: time.Now}
	if g.quiet {
		p.w = io.Discard
	}
	if f, ok := g.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		p.tty = true
	}
	p.start = p.now()
	return p
}

// Show reports the wait's state.
func (p *progress) Show(state string) {
	elapsed := p.now().Sub(p.start)
	if elapsed < progressAfter {
		return
	}
	line := fmt.Sprintf("Waiting for %s: %s, %s elapsed", p.what, state, elapsed.Round(time.Second))
	if p.limit > 0 {
		line += fmt.Sprintf(", %s left", max(p.limit-elapsed, 0).Round(time.Second))
	}
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
		p.drawn = true
	case state != p.state:
		fmt.Fprintln(p.w, "storagegrid: "+line)
	}
	p.state = state
}

// Done takes the terminal line down, so that what follows starts clean.
func (p *progress) Done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// await runs wait, reporting state() each second until it returns.
func (g *globals) await(what string, limit time.Duration, state func() string, wait func() error) error {
	p := g.newProgress(what, limit)
	errc := make(chan error, 1)
	go func() { errc <- wait() }()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case err := <-errc:
			p.Done()
			return err
		case <-t.C:
			p.Show(state())
		}
	}
}
