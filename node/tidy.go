package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/hostid"
	"github.com/storagegrid/storagegrid/internal/flock"
)

// Tidy finishes what a command killed half-way left on this host, and says
// what it did (one line each), before a node command looks at the nodes:
//
//   - an export killed half-way (its marker in ExportingDir): if it wrote
//     the record, the node is no longer this host's (another host may
//     even have imported it since), so its config goes, the kept copy in
//     ExportDir stays; if not, the node stays;
//   - temporary files of a config write that never finished
//     (".NAME.conf.tmp-*" in the config directory);
//   - the marker of a node imported here half-way through a migration
//     whose record no longer carries the migration note (a start killed
//     after its claim, say): the node is no longer half-way.
//
// A node whose lock another command holds is left alone: that command is
// not dead, it is busy.
func (m *Manager) Tidy(ctx context.Context) ([]string, error) {
	var notes []string
	markers, err := filepath.Glob(filepath.Join(m.root.Join(ExportingDir), "*"))
	if err != nil {
		return nil, err
	}
	for _, mk := range markers {
		name := filepath.Base(mk)
		if ValidName(name) != nil {
			continue
		}
		note, err := m.finishExport(ctx, name, mk)
		if err != nil {
			// Said, not fatal: one node's device must not stop every
			// command on the host.
			note = fmt.Sprintf("node %s: an export was interrupted and cannot be settled yet: %v", name, err)
		}
		if note != "" {
			notes = append(notes, note)
		}
	}
	notes = append(notes, m.settleMarkers(ctx)...)
	temps, _ := filepath.Glob(filepath.Join(m.root.Join(ConfigDir), ".*.conf.tmp-*"))
	for _, t := range temps {
		name, ok := tempOf(filepath.Base(t))
		if !ok {
			continue
		}
		lock, err := tryLock(ctx, m, name)
		if err != nil || lock == nil {
			continue
		}
		if os.Remove(t) == nil {
			notes = append(notes, fmt.Sprintf("removed %s/%s, left by a config write of node %s that was killed",
				ConfigDir, filepath.Base(t), name))
		}
		lock.Unlock()
	}
	return notes, nil
}

// finishExport settles the export of node name that left marker: when
// the record is no longer this host's to keep (it says exported, or
// another host has claimed it since) the export happened, and the config
// goes; when it still is, the export never reached the record, and the
// node stays.
func (m *Manager) finishExport(ctx context.Context, name, marker string) (string, error) {
	lock, err := tryLock(ctx, m, name)
	if err != nil || lock == nil {
		return "", err // an export running now holds the lock
	}
	defer lock.Unlock()
	cfg, err := m.reg.Load(name)
	if err != nil {
		// Gone already (the export removed it but not the marker), or a
		// config export would not have left.
		return "", os.Remove(marker)
	}
	dev, err := m.ownership().varLocal(name, cfg)
	if err != nil {
		return "", err
	}
	host, err := hostid.Lookup(m.root)
	if err != nil {
		return "", err
	}
	rec, err := dev.ReadRecord()
	if err != nil {
		return "", fmt.Errorf("node %s: settle an interrupted export: %w", name, err)
	}
	if rec.Node == name && rec.HostUUID == host && rec.State != blockdev.Exported {
		return fmt.Sprintf("node %s: an export was interrupted before it changed the record on %s: the node is still this host's",
			name, dev.Path), os.Remove(marker)
	}
	if err := m.reg.Remove(name); err != nil {
		return "", err
	}
	return fmt.Sprintf("node %s was exported to %s by an export that did not finish: removed %s (copy kept in %s/%s.conf)",
		name, dev.Path, m.reg.Path(name), ExportDir, name), os.Remove(marker)
}

// settleMarkers removes the target markers (MigrationDir) of nodes whose
// record says the migration is over here.
func (m *Manager) settleMarkers(ctx context.Context) []string {
	js, _ := m.Migrations() // one that does not read is for status to name
	var notes []string
	for _, j := range js {
		if j.Role != RoleTarget {
			continue
		}
		lock, err := tryLock(ctx, m, j.Node)
		if err != nil || lock == nil {
			continue
		}
		if over, err := m.migrationOver(j.Node); err == nil && over && m.dropJournal(j.Node, RoleTarget) == nil {
			notes = append(notes, fmt.Sprintf("node %s: its migration from %s is over (the record carries no migration note): removed %s/%s.json",
				j.Node, j.From, MigrationDir, j.Node))
		}
		lock.Unlock()
	}
	return notes
}

// migrationOver says whether node name's record no longer marks it as
// half-way to this host: not configured here, or its record has no note.
func (m *Manager) migrationOver(name string) (bool, error) {
	cfg, err := m.reg.Load(name)
	if err != nil {
		return true, nil
	}
	dev, err := m.ownership().varLocal(name, cfg)
	if err != nil {
		return false, err
	}
	rec, err := dev.ReadRecord()
	if err != nil {
		return false, err
	}
	return rec.Node != name || rec.Migration == nil, nil
}

// tryLock takes the node's lock if it is free within a moment; nil when
// another command holds it.
func tryLock(ctx context.Context, m *Manager, name string) (*flock.Lock, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	lock, err := LockNode(ctx, m.root, name)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, err
	}
	return lock, nil
}
