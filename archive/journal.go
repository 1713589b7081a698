package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/storagegrid/storagegrid/internal/atomicfile"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/flock"
	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// JournalDir is where recovery journals live on a host (under --root).
const JournalDir = "/var/lib/storagegrid/archive"

// JournalName is the file name of node nodeID's journal in JournalDir.
func JournalName(nodeID string) string { return "recover-" + nodeID + ".jsonl" }

// LockDir holds the per-node recovery locks on a host (under --root):
// the directory of the grid nodes' locks, named "archive-NODE_ID" so
// they cannot collide with those.
const LockDir = "/run/storagegrid/lock"

// lockWait is how long OpenNodeJournal waits for another command on the
// same node before refusing.
const lockWait = 2 * time.Second

// nodeJournal is where node nodeID's journal is under root, and how the
// host spells it.
func nodeJournal(root hostpath.Root, nodeID string) (path, show string, err error) {
	if _, err := ParseNodeID(nodeID); err != nil {
		return "", "", err
	}
	show = JournalDir + "/" + JournalName(nodeID)
	return root.Join(show), show, nil
}

// LoadNodeJournal reads Archive Node nodeID's journal on the host at root
// read-only, without the lock (dry runs, listings).
func LoadNodeJournal(root hostpath.Root, nodeID string) (*Journal, error) {
	path, show, err := nodeJournal(root, nodeID)
	if err != nil {
		return nil, err
	}
	return LoadJournal(path, show, nodeID)
}

// OpenNodeJournal opens Archive Node nodeID's journal on the host at root
// for writing and holds the node's lock until Close: one recovery per
// node at a time, across processes.
func OpenNodeJournal(ctx context.Context, root hostpath.Root, nodeID string) (*Journal, error) {
	path, show, err := nodeJournal(root, nodeID)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	lock, err := flock.Acquire(lctx, root, LockDir, "archive-"+nodeID)
	if err != nil {
		return nil, fail.Refusedf("another archive command for node %s is running (%v)", nodeID, err)
	}
	j, err := OpenJournal(path, show, nodeID)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	j.lock = lock
	return j, nil
}

// Operations and states written to the journal.
const (
	OpCancel     = "cancel"
	OpObjectLost = "object_lost"

	stateSending = "sending" // written and fsynced before the command goes out
	stateDone    = "done"    // the console confirmed (cancel count, or SUCS)
	stateFailed  = "failed"  // definitely not done: the console answered, but not with success
	stateUnsent  = "unsent"  // the command never went out completely
	stateUnknown = "unknown" // sent, reply lost: may or may not have taken effect
	stateMarked  = "marked"  // the operator checked and recorded that it took effect
)

// Record is one line of the journal.
type Record struct {
	Time      time.Time `json:"time"`
	NodeID    string    `json:"node_id"`
	CBID      CBID      `json:"cbid"`
	Op        string    `json:"op"`
	State     string    `json:"state"`
	Cancelled *int      `json:"cancelled,omitempty"`
	Result    string    `json:"result,omitempty"`
	Error     string    `json:"error,omitempty"`
	// Outside is set on a mark-lost for an object this tool never sent
	// Object_Lost for: the operator recorded a decision made elsewhere.
	Outside bool `json:"outside,omitempty"`
}

// Status is where an object stands in the recovery, from its journal.
type Status string

// The statuses.
const (
	StatusPending   Status = "pending"   // nothing confirmed yet
	StatusCancelled Status = "cancelled" // retrieval cancelled, Object_Lost still to send
	StatusFailed    Status = "failed"    // the last attempt definitely failed; a rerun retries
	StatusUnknown   Status = "unknown"   // Object_Lost sent, outcome unknown; never resent blindly
	StatusLost      Status = "lost"      // Object_Lost answered SUCS (or marked): never sent again
)

// Progress is an object's state replayed from the journal.
type Progress struct {
	CBID       CBID   `json:"cbid"`
	Status     Status `json:"status"`
	Cancelled  *int   `json:"cancelled,omitempty"` // requests the last successful cancel found
	LostSends  int    `json:"object_lost_sent"`    // Object_Lost commands that went (or may have gone) out
	Result     string `json:"result,omitempty"`    // last Object_Lost result code
	LastError  string `json:"last_error,omitempty"`
	cancelDone bool
	lostState  string
}

// Journal is the append-only, fsynced record of one node's recovery. The
// "sending" line is durable before a command goes out and the outcome is
// durable before the next one, so after a crash the journal tells which
// commands might have reached the console.
type Journal struct {
	path   string
	show   string // path as the host spells it, for messages
	nodeID string
	f      *os.File
	state  map[CBID]*Progress
	order  []CBID
	size   int64 // bytes of complete lines when loaded
	now    func() time.Time
	lock   *flock.Lock // held by OpenNodeJournal's journals
}

// LoadJournal replays the journal at path read-only (for dry runs and
// listings): a missing file is an empty journal, nothing is created, and
// Append fails.
func LoadJournal(path, show, nodeID string) (*Journal, error) {
	j := &Journal{path: path, show: show, nodeID: nodeID, state: map[CBID]*Progress{}, now: time.Now}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("journal %s: %w", show, err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1]
	}
	j.size = int64(len(data))
	if err := j.replay(data); err != nil {
		return nil, err
	}
	return j, nil
}

// OpenJournal opens (creating if needed) the journal at path for nodeID
// and replays it. show is the path to print. A torn last line (a crash
// mid-append) is cut off: its command was never sent, because sending
// waits for the line to be synced. Any other malformed line is an error.
func OpenJournal(path, show, nodeID string) (*Journal, error) {
	j, err := LoadJournal(path, show, nodeID)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal %s: %w", show, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", show, err)
	}
	err = f.Truncate(j.size)
	if err == nil {
		_, err = f.Seek(j.size, io.SeekStart)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = atomicfile.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", show, err)
	}
	j.f = f
	return j, nil
}

func (j *Journal) replay(data []byte) error {
	for n, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r Record
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("journal %s:%d: %v (the journal is damaged; move it aside only after checking the objects by hand)", j.show, n+1, err)
		}
		if r.NodeID != j.nodeID {
			return fmt.Errorf("journal %s:%d: record for node %q in the journal of node %s", j.show, n+1, r.NodeID, j.nodeID)
		}
		if _, err := ParseCBID(string(r.CBID)); err != nil {
			return fmt.Errorf("journal %s:%d: %v", j.show, n+1, err)
		}
		j.apply(r)
	}
	return nil
}

// apply folds one record into the object's progress.
func (j *Journal) apply(r Record) {
	p := j.state[r.CBID]
	if p == nil {
		p = &Progress{CBID: r.CBID}
		j.state[r.CBID] = p
		j.order = append(j.order, r.CBID)
	}
	if r.Error != "" {
		p.LastError = r.Error
	}
	switch r.Op {
	case OpCancel:
		if r.State == stateDone {
			p.cancelDone, p.Cancelled = true, r.Cancelled
		}
	case OpObjectLost:
		if p.lostState == stateDone || p.lostState == stateMarked {
			break // SUCS is final
		}
		if r.State == stateSending {
			p.LostSends++
		}
		if r.State == stateUnsent && p.LostSends > 0 {
			p.LostSends--
		}
		if r.Result != "" {
			p.Result = r.Result
		}
		p.lostState = r.State
	}
	p.Status = p.status()
}

func (p *Progress) status() Status {
	switch p.lostState {
	case stateDone, stateMarked:
		return StatusLost
	case stateSending, stateUnknown:
		return StatusUnknown
	case stateFailed, stateUnsent:
		return StatusFailed
	}
	if p.cancelDone {
		return StatusCancelled
	}
	if p.LastError != "" {
		return StatusFailed
	}
	return StatusPending
}

// Progress returns the replayed state of c (StatusPending if unseen).
func (j *Journal) Progress(c CBID) Progress {
	if p := j.state[c]; p != nil {
		return *p
	}
	return Progress{CBID: c, Status: StatusPending}
}

// All returns every object in the journal, in first-seen order.
func (j *Journal) All() []Progress {
	out := make([]Progress, 0, len(j.order))
	for _, c := range j.order {
		out = append(out, *j.state[c])
	}
	return out
}

// Path is the journal's path as the host spells it.
func (j *Journal) Path() string { return j.show }

// Append writes r durably (write, fsync) and applies it.
func (j *Journal) Append(r Record) error {
	r.Time, r.NodeID = j.now().UTC(), j.nodeID
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if j.f == nil {
		return fmt.Errorf("journal %s: opened read-only", j.show)
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("journal %s: %w", j.show, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: fsync: %w", j.show, err)
	}
	j.apply(r)
	return nil
}

// MarkLost records that the operator verified Object_Lost took effect
// for c (after an unknown outcome), so no rerun sends it again.
//
// Marking is for an Object_Lost the journal sent: a CBID it never sent
// one for is refused (recover would otherwise skip it for good, with
// nothing ever sent), unless outside is set, which records a decision
// made outside this tool (declared lost from the Grid Manager, say) as
// such in the journal.
func (j *Journal) MarkLost(c CBID, outside bool) error {
	p := j.Progress(c)
	if p.Status == StatusLost {
		return nil // already: nothing to record
	}
	if p.LostSends == 0 && !outside {
		why := "the journal has no record of it"
		if j.state[c] != nil {
			why = "the journal never sent an Object_Lost for it"
		}
		return fail.Refusedf("CBID %s: nothing to mark lost: %s, so no Object_Lost of this tool can have taken effect "+
			"(recover sends one); if the object was declared lost outside storagegrid, record that with the global --force",
			c, why)
	}
	return j.Append(Record{CBID: c, Op: OpObjectLost, State: stateMarked, Result: ResultSuccess, Outside: p.LostSends == 0})
}

// Close closes the journal file and releases the node's lock.
func (j *Journal) Close() error {
	var err error
	if j.f != nil {
		err = j.f.Close()
	}
	if j.lock != nil {
		j.lock.Unlock()
	}
	return err
}
