package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/hostid"
	"github.com/storagegrid/storagegrid/internal/atomicfile"
	"github.com/storagegrid/storagegrid/internal/fail"
)

// ExportDir keeps a copy of every config export removes from this host.
const ExportDir = "/var/lib/storagegrid/exported"

// ExportingDir holds a marker per node while its export runs: written
// before the record changes, removed once the config is gone. A marker
// left behind is an export that was killed; the next node command
// finishes or undoes it (Tidy).
const ExportingDir = "/var/lib/storagegrid/exporting"

// ErrRunning is matched (errors.Is) when export refuses a node that is
// not stopped.
var ErrRunning = errors.New("export needs a stopped node")

// ErrExists is matched (errors.Is) when import refuses a node that is
// already configured on this host.
var ErrExists = errors.New("already configured")

// ExportResult says what export did.
type ExportResult struct {
	Node     string          `json:"node"`
	Device   string          `json:"device"` // BLOCK_DEVICE_VAR_LOCAL as the config spells it
	Copy     string          `json:"copy"`   // host path of the config copy kept here
	Record   blockdev.Record `json:"record"`
	Previous string          `json:"previous_state,omitempty"` // the record's state before, if it had one
}

// Export hands a stopped node over to shared storage: it writes the
// node's config into its var-local record marked exported, keeps a copy
// under ExportDir and removes the node from this host. The steps run in
// that order, under a marker in ExportingDir: a crash at any point leaves
// the node either still this host's or exported, and the next node
// command (Tidy) removes the config of a node whose record no longer is
// this host's.
func (m *Manager) Export(ctx context.Context, name string) (ExportResult, error) {
	return m.export(ctx, name, nil)
}

// export is Export with the migration note the record is to carry (nil
// outside a migration).
func (m *Manager) export(ctx context.Context, name string, note *blockdev.Migration) (ExportResult, error) {
	if _, err := m.reg.Load(name); isNameError(err) {
		return ExportResult{}, usageIfUnknown(err)
	}
	lock, err := LockNode(ctx, m.root, name)
	if err != nil {
		return ExportResult{}, err
	}
	defer lock.Unlock()
	if st, err := m.rt.State(ctx, name); err != nil {
		return ExportResult{}, err
	} else if st != NotRunning {
		return ExportResult{}, fail.With(fail.Refused, fmt.Errorf("node %s is %s (%w): stop it first with "+
			"'storagegrid node stop %s' (--force does not override this)", name, st, ErrRunning, name))
	}
	cfg, err := m.reg.Load(name)
	if err != nil {
		return ExportResult{}, err
	}
	o := m.ownership()
	dev, err := o.varLocal(name, cfg)
	if err != nil {
		return ExportResult{}, err
	}
	host, err := hostid.Get(m.root)
	if err != nil {
		return ExportResult{}, err
	}
	res := ExportResult{Node: name, Device: dev.Path, Copy: ExportDir + "/" + name + ".conf"}
	prev, found, err := readNodeRecord(dev)
	if err := o.damaged(name, err); err != nil {
		return res, err
	}
	if found {
		res.Previous = prev.State.String()
		if err := o.checkOwner(name, host, "export", prev, blockdev.Exported); err != nil {
			return res, err
		}
	}
	if err := m.keepCopy(name, cfg); err != nil {
		return res, err
	}
	marker := filepath.Join(m.root.Join(ExportingDir), name)
	if err := os.MkdirAll(filepath.Dir(marker), 0o755); err != nil {
		return res, fmt.Errorf("node %s: %s: %w", name, ExportingDir, unwrapPath(err))
	}
	if err := atomicfile.Write(marker, []byte(dev.Path+"\n"), 0o644); err != nil {
		return res, fmt.Errorf("node %s: export marker: %w", name, unwrapPath(err))
	}
	rec := blockdev.Record{Node: name, HostUUID: host, State: blockdev.Exported, Config: cfg.Bytes(), Migration: note}
	if res.Record, err = dev.WriteRecord(rec); err != nil {
		os.Remove(marker)
		return res, fmt.Errorf("node %s: mark record exported: %w", name, err)
	}
	if err := m.reg.Remove(name); err != nil {
		return res, err
	}
	// A node imported here half-way through a migration has left again.
	return res, errors.Join(os.Remove(marker), m.dropJournal(name, RoleTarget))
}

func (m *Manager) keepCopy(name string, cfg *Config) error {
	dir := m.root.Join(ExportDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("node %s: %s: %w", name, ExportDir, unwrapPath(err))
	}
	if err := atomicfile.Write(filepath.Join(dir, name+".conf"), cfg.Bytes(), cfg.FileMode()); err != nil {
		return fmt.Errorf("node %s: keep a copy in %s: %w", name, ExportDir, unwrapPath(err))
	}
	return nil
}

// ImportResult says what import did.
type ImportResult struct {
	Node     string          `json:"node"`
	Device   string          `json:"device"` // as given
	Config   string          `json:"config"` // host path of the config written
	Record   blockdev.Record `json:"record"`
	Warnings []string        `json:"warnings,omitempty"`
	// Migration is the note of a node imported half-way through a
	// migration from another host.
	Migration *blockdev.Migration `json:"migration,omitempty"`
}

// Import installs the node whose record is on device (a host path): it
// reads and verifies the record, refuses a node configured here already
// or one that another host has not released (active, or cleanly stopped
// without export; Force overrides that, but not a claim its owner still
// renews), claims the record for this host by the lease protocol (it then
// says cleanly-stopped on this host: no other host can import it too),
// and writes NAME.conf from it. A crash between the claim and the config
// leaves the claim, which the same import on this host takes again.
//
// A record that carries a migration note keeps it while the node is
// half-way (here a marker in MigrationDir says so, for status), and loses
// it when it comes back to the host the migration began on. There, while
// the migration's journal is kept, import refuses and names the command
// that finishes the migration; Force takes the node back and drops the
// journal.
func (m *Manager) Import(ctx context.Context, device string) (ImportResult, error) {
	return m.importFrom(ctx, device, false)
}

// importFrom is Import; restoring is a migration putting the node back
// here, which its own journal does not refuse.
func (m *Manager) importFrom(ctx context.Context, device string, restoring bool) (ImportResult, error) {
	o := m.ownership()
	res := ImportResult{Device: device}
	dev, err := blockdev.Probe(device, o.Devices)
	if err != nil {
		return res, err
	}
	rec, err := readImportable(dev)
	if err != nil {
		return res, err
	}
	name := rec.Node
	lock, err := LockNode(ctx, m.root, name)
	if err != nil {
		return res, err
	}
	defer lock.Unlock()
	res.Node, res.Config = name, m.reg.Path(name)
	host, err := hostid.Get(m.root)
	if err != nil {
		return res, err
	}
	cfg, err := m.checkImport(dev, rec, host)
	if err != nil {
		return res, err
	}
	j, err := m.Migration(name)
	if err != nil {
		return res, err
	}
	if j != nil && j.Role == RoleSource && !restoring && !o.Force {
		return res, fail.With(fail.Refused, &MigrationPendingError{Journal: *j, Doing: "import node " + name + " here",
			Undo: "to take it back here instead, 'storagegrid --force node import " + device + "'"})
	}
	want := blockdev.Record{Node: name, HostUUID: host, State: blockdev.CleanlyStopped, Config: rec.Config}
	if rec.Migration != nil && rec.Migration.FromUUID != host {
		want.Migration = rec.Migration // still half-way; back home it is not
	}
	res.Record, err = o.claimRecord(dev, want, "import", func(cur blockdev.Record, found bool, readErr error) error {
		switch {
		case readErr != nil:
			return readErr
		case !found || cur.Node != name || !bytes.Equal(cur.Config, rec.Config):
			return fmt.Errorf("%s: the record changed while node %s was being imported; run the import again", dev.Path, name)
		}
		return m.importOwner(name, host, cur)
	})
	if err != nil {
		return res, err
	}
	res.Warnings = m.deviceMismatch(dev, cfg)
	if err := m.reg.Write(name, cfg); err != nil {
		return res, err
	}
	res.Migration = want.Migration
	if want.Migration != nil {
		return res, m.writeJournal(&Journal{Role: RoleTarget, Node: name, Migration: *want.Migration})
	}
	if j != nil && j.Role == RoleSource && !restoring {
		return res, m.dropJournal(name, RoleSource) // taken back with --force: the migration is over
	}
	return res, nil
}

// readImportable reads the record and checks that its name can be a node
// here.
func readImportable(dev blockdev.Device) (blockdev.Record, error) {
	rec, err := dev.ReadRecord()
	if errors.Is(err, blockdev.ErrNoRecord) {
		return rec, fmt.Errorf("%s holds no storagegrid node record: no node was exported to it "+
			"(export the node on its old host first): %w", dev.Path, err)
	}
	if err != nil {
		return rec, err
	}
	if err := ValidName(rec.Node); err != nil {
		return rec, fmt.Errorf("%s: the record's node name: %w", dev.Path, err)
	}
	return rec, nil
}

// checkImport applies import's refusals and parses the record's config.
func (m *Manager) checkImport(dev blockdev.Device, rec blockdev.Record, host string) (*Config, error) {
	name := rec.Node
	if err := m.reg.Exists(name); err == nil {
		err := fmt.Errorf("node %s is %w on this host (%s); "+
			"export or remove it before importing (--force does not override this)", name, ErrExists, m.reg.Path(name))
		if j, _ := m.Migration(name); j != nil {
			err = fmt.Errorf("%w\n%s", err, j.Hint())
		}
		return nil, fail.With(fail.Refused, err)
	} else if !errors.Is(err, ErrUnknownNode) {
		return nil, err
	}
	if err := m.importOwner(name, host, rec); err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(m.reg.Path(name), bytes.NewReader(rec.Config))
	if err != nil {
		return nil, fmt.Errorf("%s: the config in the record does not parse: %w", dev.Path, err)
	}
	if v, ok := cfg.Get(VarLocalKey); !ok || v == "" {
		return nil, fail.Invalidf("%s: the config in the record has no %s", dev.Path, VarLocalKey)
	}
	return cfg, nil
}

// importOwner refuses to import a node whose record another host holds,
// or that this host ran and did not stop cleanly.
func (m *Manager) importOwner(name, host string, rec blockdev.Record) error {
	o := m.ownership()
	if rec.HostUUID == host && rec.State == blockdev.Active && !o.Force {
		return fail.Refusedf("This node (%s) is marked active on this host (UUID %s) but was not stopped cleanly.\n"+
			"Use the --force flag if you are sure import is safe.", name, host)
	}
	return o.checkOwner(name, host, "import", rec, blockdev.Exported)
}

// deviceMismatch warns when the imported config's var-local path does not
// lead to the device imported from here: the node would start against
// another device, so validate must be run and the config fixed.
func (m *Manager) deviceMismatch(dev blockdev.Device, cfg *Config) []string {
	path, _ := cfg.Get(VarLocalKey)
	other, err := blockdev.Probe(path, m.ownership().Devices)
	switch {
	case err != nil:
		return []string{fmt.Sprintf("%s = %s cannot be used on this host: %v", VarLocalKey, path, err)}
	case other.Identity != dev.Identity:
		return []string{fmt.Sprintf("%s = %s is device %s on this host, but the node was imported from %s (device %s)",
			VarLocalKey, path, other.ID, dev.Path, dev.ID)}
	}
	return nil
}
