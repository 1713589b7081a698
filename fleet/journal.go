package fleet

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Journal is the record of a run: a header naming the plan, then one
// JSON line per step started and per step done, each written and synced
// before the run goes on. A run of the same plan resumes from it: steps
// done are skipped, and the step a killed run was in is run again (each
// step is safe to repeat: node migrate resumes from its own journal, stop
// and start do nothing twice, and a patch is not run again once the host
// came back with a new boot id). The file is locked while a run uses it.
type Journal struct {
	mu      sync.Mutex // the hosts of a wave run at once
	f       *os.File
	path    string
	steps   map[string]bool // host + "\x00" + step, done
	started map[string]bool // started by an earlier run, not done
}

type journalLine struct {
	Plan  string    `json:"plan,omitempty"` // header: the plan's SHA-256
	Host  string    `json:"host,omitempty"`
	Step  string    `json:"step,omitempty"`
	State string    `json:"state,omitempty"` // start, done
	Time  time.Time `json:"time"`
}

// hostStep is the pseudo-step recorded when all of a host's steps are
// done.
const hostStep = "host"

// PlanHash identifies a plan file's contents.
func PlanHash(plan []byte) string {
	sum := sha256.Sum256(plan)
	return hex.EncodeToString(sum[:])
}

// OpenJournal opens (or starts) the journal at path for the plan with
// hash planHash. It refuses a journal of another plan and one another
// run holds.
func OpenJournal(path, planHash string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: another run of this plan is going on (it holds the journal)", path)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	j := &Journal{f: f, path: path, steps: map[string]bool{}, started: map[string]bool{}}
	if err := j.load(planHash); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// load reads what the journal holds; a last line cut by a kill is
// dropped.
func (j *Journal) load(planHash string) error {
	data, err := io.ReadAll(j.f)
	if err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	good := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 0; sc.Scan(); n++ {
		line := sc.Bytes()
		end := good + len(line) + 1
		if end > len(data) {
			break // no newline: cut by a kill
		}
		var l journalLine
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("%s: line %d: %v (remove the journal to start the run over)", j.path, n+1, err)
		}
		switch {
		case n == 0 && l.Plan != planHash:
			return fmt.Errorf("%s: the journal of another plan (remove it, or give the plan it was made for)", j.path)
		case l.State == "done":
			j.steps[l.Host+"\x00"+l.Step] = true
			delete(j.started, l.Host+"\x00"+l.Step)
		case l.State == "start":
			j.started[l.Host+"\x00"+l.Step] = true
		}
		good = end
	}
	if err := j.f.Truncate(int64(good)); err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	if _, err := j.f.Seek(int64(good), io.SeekStart); err != nil {
		return err
	}
	if good == 0 {
		return j.write(journalLine{Plan: planHash, Time: time.Now().UTC()})
	}
	return nil
}

func (j *Journal) write(l journalLine) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	return nil
}

// done reports whether a step of host finished in this run or an earlier
// one. A nil journal (a dry run) knows of nothing.
func (j *Journal) done(host, step string) bool {
	if j == nil {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.steps[host+"\x00"+step]
}

func (j *Journal) hostDone(host string) bool { return j.done(host, hostStep) }

// interrupted reports whether an earlier run started a step of host and
// was stopped before it finished.
func (j *Journal) interrupted(host, step string) bool {
	if j == nil {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.started[host+"\x00"+step]
}

func (j *Journal) record(host, step, state string) error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if state == "done" {
		j.steps[host+"\x00"+step] = true
	}
	return j.write(journalLine{Host: host, Step: step, State: state, Time: time.Now().UTC()})
}

// Close releases the journal.
func (j *Journal) Close() error { return j.f.Close() }
