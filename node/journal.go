package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/internal/atomicfile"
)

// MigrationDir holds a journal per node that a migration is moving, so
// that a migration killed half-way can be finished and every host
// involved can say so:
//
//   - on the source host, the migration's own journal: written before the
//     stop, advanced at every step, removed once the node runs on the
//     target or is back here; rerunning the same node migrate command
//     resumes from it;
//   - on a host that imported a record carrying a migration note (the
//     target, normally), a marker naming the source and the command,
//     removed when the node starts there or is exported again.
const MigrationDir = "/var/lib/storagegrid/migrations"

// The roles a journal has on a host.
const (
	RoleSource = "source" // this host runs the migration
	RoleTarget = "target" // this host imported the node half-way
)

// Journal is one node's migration as a host knows it.
type Journal struct {
	Role string `json:"role"`
	Node string `json:"node"`
	blockdev.Migration
	// The source's own: what a rerun needs to go on.
	Device     string `json:"device,omitempty"` // BLOCK_DEVICE_VAR_LOCAL
	WasRunning bool   `json:"was_running,omitempty"`
	Step       int    `json:"step,omitempty"` // the step begun last
}

// Hint says where the node is and the command that finishes the move.
func (j Journal) Hint() string {
	if j.Role == RoleSource {
		return fmt.Sprintf("node %s is half-way through a migration to %s (begun %s, stopped at step %d/%d): finish it with: %s",
			j.Node, j.To, j.Started.Local().Format(time.DateTime), j.Step, migrationSteps, j.Command)
	}
	return fmt.Sprintf("node %s is half-way through a migration from %s to %s and was imported here (begun %s): finish it on %s with: %s",
		j.Node, j.From, j.To, j.Started.Local().Format(time.DateTime), j.From, j.Command)
}

// MigrationPendingError refuses what would confuse a half-done migration.
type MigrationPendingError struct {
	Journal Journal
	Doing   string // what was refused, e.g. "import it here"
	Undo    string // how to do it anyway, when there is a way
}

func (e *MigrationPendingError) Error() string {
	msg := fmt.Sprintf("cannot %s: %s", e.Doing, e.Journal.Hint())
	if e.Undo != "" {
		msg += "; " + e.Undo
	}
	return msg
}

func (m *Manager) journalPath(name string) string {
	return filepath.Join(m.root.Join(MigrationDir), name+".json")
}

// Migration returns the journal of node name on this host, or nil.
func (m *Manager) Migration(name string) (*Journal, error) {
	b, err := os.ReadFile(m.journalPath(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("node %s: migration journal: %w", name, unwrapPath(err))
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil || j.Node != name || (j.Role != RoleSource && j.Role != RoleTarget) {
		return nil, fmt.Errorf("%s/%s.json: not a migration journal of node %s (remove it if no migration of %s is under way)",
			MigrationDir, name, name, name)
	}
	return &j, nil
}

// Migrations lists the journals on this host, by node name; one that does
// not read is an error naming it, after the others.
func (m *Manager) Migrations() ([]Journal, error) {
	files, err := filepath.Glob(filepath.Join(m.root.Join(MigrationDir), "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Journal
	var bad []string
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if ValidName(name) != nil {
			continue
		}
		j, err := m.Migration(name)
		switch {
		case err != nil:
			bad = append(bad, err.Error())
		case j != nil:
			out = append(out, *j)
		}
	}
	if len(bad) > 0 {
		return out, errors.New(strings.Join(bad, "\n"))
	}
	return out, nil
}

// writeJournal records j; the caller holds the node lock or runs the
// migration.
func (m *Manager) writeJournal(j *Journal) error {
	dir := m.root.Join(MigrationDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("node %s: %s: %w", j.Node, MigrationDir, unwrapPath(err))
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(m.journalPath(j.Node), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("node %s: migration journal: %w", j.Node, unwrapPath(err))
	}
	return nil
}

// dropJournal removes node name's journal if it has role (any role when
// role is ""): the node is no longer half-way.
func (m *Manager) dropJournal(name, role string) error {
	if role != "" {
		j, err := m.Migration(name)
		if err != nil || j == nil || j.Role != role {
			return err
		}
	}
	err := os.Remove(m.journalPath(name))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("node %s: migration journal: %w", name, unwrapPath(err))
	}
	if err == nil {
		return atomicfile.SyncDir(filepath.Dir(m.journalPath(name)))
	}
	return nil
}
