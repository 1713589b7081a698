package blockdev

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// Sizes of the record region; see the package comment for the layout.
const (
	RegionSize    = 1 << 20              // the record region at the end of the device
	SlotSize      = RegionSize / 2       // one of the two slots
	MaxConfigSize = SlotSize - configOff // largest config a record holds
	MaxNodeName   = 64                   // longest node name a record holds
	MaxNoteSize   = 4096                 // longest migration note (JSON) a record holds
	// Version is the newest format this package reads and writes: 1 for
	// a record without a migration note, 2 for one with.
	Version = 2
)

// Errors a caller may want to tell apart; each is wrapped with the device.
var (
	ErrNoRecord       = errors.New("no storagegrid node record")
	ErrCorrupt        = errors.New("corrupt storagegrid node record")
	ErrNewerVersion   = errors.New("node record written by a newer storagegrid")
	ErrTooSmall       = errors.New("too small for the node record")
	ErrConfigTooLarge = errors.New("node config too large for the record")
)

// State is the ownership state a record declares.
type State uint8

// The record states.
const (
	Active         State = 1 // started on the owning host
	CleanlyStopped State = 2 // stopped cleanly on the owning host
	Exported       State = 3 // exported: free for any host to import
)

func (s State) String() string {
	switch s {
	case Active:
		return "active"
	case CleanlyStopped:
		return "cleanly-stopped"
	case Exported:
		return "exported"
	}
	return fmt.Sprintf("unknown state %d", uint8(s))
}

// MarshalText spells the state for JSON output.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Record is the node record kept on a var-local device.
type Record struct {
	Node     string    `json:"node"`
	HostUUID string    `json:"host_uuid"` // canonical lower-case form
	State    State     `json:"state"`
	Time     time.Time `json:"time"`
	Config   []byte    `json:"-"` // the node's config file, verbatim
	// Migration is set while node migrate moves the node (format 2).
	Migration *Migration `json:"migration,omitempty"`
	// Set by WriteRecord and the readers; ignored when writing.
	Generation uint64 `json:"generation"`
	Version    uint32 `json:"version"`
	Slot       int    `json:"slot"`
}

// Migration is the note a record carries while node migrate moves the
// node, so that every host that reads the record can tell a node half-way
// between two hosts and name the command that finishes the move.
type Migration struct {
	From     string    `json:"from"`      // the source host's name
	FromUUID string    `json:"from_uuid"` // and its UUID
	To       string    `json:"to"`        // the target as the command names it
	Command  string    `json:"command"`   // what finishes (or undoes) the move, on From
	Started  time.Time `json:"started"`
}

// SlotStatus says what a slot holds.
type SlotStatus string

// The slot statuses.
const (
	SlotEmpty   SlotStatus = "empty"         // no magic: never written
	SlotValid   SlotStatus = "valid"         // Record is set
	SlotCorrupt SlotStatus = "corrupt"       // Err says why
	SlotNewer   SlotStatus = "newer-version" // intact, but a format this package cannot read
)

// Slot is one of the two record slots as found on the device.
type Slot struct {
	Index  int        `json:"index"`
	Offset int64      `json:"offset"` // byte offset on the device
	Status SlotStatus `json:"status"`
	Record Record     `json:"record"` // when Status is SlotValid
	Err    error      `json:"-"`      // why the slot is not valid
}

// regionStart is where the record region begins on a device of size bytes.
func regionStart(size int64) int64 {
	return (size - RegionSize) &^ (alignment - 1)
}

func (d Device) checkSize() error {
	if d.Size < RegionSize {
		return fmt.Errorf("%s is %w: need at least %d bytes, found %d", d.Path, ErrTooSmall, RegionSize, d.Size)
	}
	return nil
}

// Inspect reports both slots of the device's record region, for callers
// that want to warn about a damaged slot the readers skip.
func (d Device) Inspect() ([]Slot, error) {
	if err := d.checkSize(); err != nil {
		return nil, err
	}
	f, err := d.open(os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return d.slots(f)
}

func (d Device) slots(f *os.File) ([]Slot, error) {
	buf, err := alignedBuffer(RegionSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Path, err)
	}
	defer buf.free()
	start := regionStart(d.Size)
	if _, err := f.ReadAt(buf.b, start); err != nil {
		return nil, fmt.Errorf("%s: read node record: %w", d.Path, err)
	}
	slots := make([]Slot, 2)
	for i := range slots {
		s := &slots[i]
		s.Index, s.Offset = i, start+int64(i)*SlotSize
		s.Record, s.Status, s.Err = decodeSlot(buf.b[i*SlotSize : (i+1)*SlotSize])
		s.Record.Slot = i
	}
	return slots, nil
}

// newest returns the index of the valid slot with the highest generation,
// or -1 when no slot is valid.
func newest(slots []Slot) int {
	best := -1
	for i, s := range slots {
		if s.Status == SlotValid && (best < 0 || s.Record.Generation > slots[best].Record.Generation) {
			best = i
		}
	}
	return best
}

// refuseNewer returns an error when any slot was written in a newer
// format: that writer's state is the latest, and this version can neither
// read it nor safely write over it.
func (d Device) refuseNewer(slots []Slot) error {
	for _, s := range slots {
		if s.Status == SlotNewer {
			return fmt.Errorf("%s: %w", d.Path, s.Err)
		}
	}
	return nil
}

// ReadRecord returns the newest valid record on the device. A damaged slot
// is skipped when the other one is valid (Inspect reports it). Errors wrap
// ErrNoRecord, ErrCorrupt (no valid slot), ErrNewerVersion or ErrTooSmall.
func (d Device) ReadRecord() (Record, error) {
	slots, err := d.Inspect()
	if err != nil {
		return Record{}, err
	}
	if err := d.refuseNewer(slots); err != nil {
		return Record{}, err
	}
	if i := newest(slots); i >= 0 {
		return slots[i].Record, nil
	}
	return Record{}, d.noValidSlot(slots)
}

// noValidSlot is the error for slots none of which is valid: ErrCorrupt
// naming the damaged ones, or ErrNoRecord.
func (d Device) noValidSlot(slots []Slot) error {
	var why []string
	for _, s := range slots {
		if s.Status == SlotCorrupt {
			why = append(why, fmt.Sprintf("slot %d: %v", s.Index, s.Err))
		}
	}
	if len(why) > 0 {
		return fmt.Errorf("%w on %s: %s", ErrCorrupt, d.Path, strings.Join(why, "; "))
	}
	return fmt.Errorf("%w on %s", ErrNoRecord, d.Path)
}

// WriteRecord writes r into the slot that does not hold the newest valid
// record, with the next generation, and syncs it to the device. It returns
// the record as written (Generation, Version, Slot and, when r.Time is
// zero, Time filled in). The device is left unchanged when r is invalid or
// the device holds a record in a newer format.
func (d Device) WriteRecord(r Record) (Record, error) {
	w, _, err := d.WriteRecordIf(r, 0, nil)
	return w, err
}

// ErrSlow is returned by WriteRecordIf when its read and check took
// longer than the deadline: nothing was written.
var ErrSlow = errors.New("record read took too long; nothing written")

// WriteRecordIf is WriteRecord for a lease: it reads the record, asks
// check whether r may replace the newest one (found is false on a device
// without a record; readErr wraps ErrCorrupt when no slot is valid), and
// writes at once, from that one read. When more than deadline (if not
// zero) has passed since the read began by the time the write would
// start, it writes nothing and returns ErrSlow: a claim must reach the
// device within a bounded time of the read it was decided on. It also
// returns the record that was newest before (prev), for a caller that
// must put it back.
func (d Device) WriteRecordIf(r Record, deadline time.Duration, check func(newest Record, found bool, readErr error) error) (written, prev Record, err error) {
	host, err := d.checkRecord(r)
	if err != nil {
		return Record{}, Record{}, err
	}
	if err := d.checkSize(); err != nil {
		return Record{}, Record{}, err
	}
	f, err := d.open(os.O_RDWR)
	if err != nil {
		return Record{}, Record{}, err
	}
	defer f.Close()
	began := time.Now()
	slots, err := d.slots(f)
	if err != nil {
		return Record{}, Record{}, err
	}
	if err := d.refuseNewer(slots); err != nil {
		return Record{}, Record{}, err
	}
	trailer, err := encodeNote(r.Migration)
	if err != nil {
		return Record{}, Record{}, fmt.Errorf("%s: %w", d.Path, err)
	}
	r.Version, r.Generation, r.Slot = 1, 1, 0
	if trailer != nil {
		r.Version = 2
	}
	i := newest(slots)
	if i >= 0 {
		prev = slots[i].Record
		r.Generation, r.Slot = prev.Generation+1, 1-i
	}
	if check != nil {
		var readErr error
		if i < 0 {
			readErr = d.noValidSlot(slots)
			if errors.Is(readErr, ErrNoRecord) {
				readErr = nil
			}
		}
		if err := check(prev, i >= 0, readErr); err != nil {
			return Record{}, prev, err
		}
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = time.Unix(0, r.Time.UnixNano()).UTC()
	r.HostUUID = host.String()

	if configOff+len(r.Config)+len(trailer) > SlotSize {
		return Record{}, prev, fmt.Errorf("%s: %w: the config of node %s and its migration note take %d bytes, a record holds at most %d",
			d.Path, ErrConfigTooLarge, r.Node, len(r.Config)+len(trailer), MaxConfigSize)
	}
	buf, err := alignedBuffer(roundUp(configOff+len(r.Config)+len(trailer), alignment))
	if err != nil {
		return Record{}, prev, fmt.Errorf("%s: %w", d.Path, err)
	}
	defer buf.free()
	encodeSlot(buf.b, r, host, trailer)
	if deadline > 0 && time.Since(began) > deadline {
		return Record{}, prev, fmt.Errorf("%s: %w", d.Path, ErrSlow)
	}
	if _, err := f.WriteAt(buf.b, slots[r.Slot].Offset); err != nil {
		return Record{}, prev, fmt.Errorf("%s: write node record: %w", d.Path, err)
	}
	if err := f.Sync(); err != nil {
		return Record{}, prev, fmt.Errorf("%s: sync node record: %w", d.Path, err)
	}
	return r, prev, nil
}

func (d Device) checkRecord(r Record) (uuid.UUID, error) {
	if len(r.Node) == 0 || len(r.Node) > MaxNodeName {
		return uuid.UUID{}, fmt.Errorf("%s: node name %q: must be 1 to %d bytes", d.Path, r.Node, MaxNodeName)
	}
	if err := hostpath.SafeName("node name", r.Node); err != nil {
		return uuid.UUID{}, fmt.Errorf("%s: %w", d.Path, err)
	}
	host, err := uuid.Parse(r.HostUUID)
	if err != nil {
		return uuid.UUID{}, fmt.Errorf("%s: host UUID %q: %w", d.Path, r.HostUUID, err)
	}
	if r.State < Active || r.State > Exported {
		return uuid.UUID{}, fmt.Errorf("%s: %v", d.Path, r.State)
	}
	if len(r.Config) > MaxConfigSize {
		return uuid.UUID{}, fmt.Errorf("%s: %w: the config of node %s is %d bytes, a record holds at most %d",
			d.Path, ErrConfigTooLarge, r.Node, len(r.Config), MaxConfigSize)
	}
	return host, nil
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }
