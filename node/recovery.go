package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/hostid"
	"github.com/storagegrid/storagegrid/internal/atomicfile"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// RecoveryDir holds a flag per node that force-recovery started in
// recovery mode; its payload takes it (TakeRecovery) when it launches.
const RecoveryDir = "/var/lib/storagegrid/recovery"

// RecoveryEnv is set to 1 in the environment of a payload launched in
// recovery mode.
const RecoveryEnv = "STORAGEGRID_RECOVERY"

// RecoveryResult is what force-recovery did.
type RecoveryResult struct {
	Node    string `json:"node"`
	Device  string `json:"device"`  // its var-local device, as the config spells it
	Record  string `json:"record"`  // what the record was: missing, corrupt, or intact (--force)
	Stopped bool   `json:"stopped"` // it was running and was stopped first
	Result  string `json:"result"`  // recovery-started
}

// RecoveryStep names the step force-recovery is about to take, for the
// CLI's progress lines.
type RecoveryStep int

// The steps.
const (
	RecoveryBegin RecoveryStep = iota // the record was read: r.Record says why
	RecoveryStop                      // the node runs: stopping it
	RecoveryStart                     // starting it in recovery mode
)

// ForceRecovery starts a node in recovery mode, as the host service's
// 'node force-recovery' does for a node that fails to rejoin the grid
// (NetApp's "Recover nodes that fail to start normally"): the node is
// validated first, stopped if it runs, given a fresh record on its
// var-local device owned by this host (claimed as start claims it),
// flagged for recovery (its payload sees STORAGEGRID_RECOVERY=1) and
// started. The grid then needs its additional recovery steps.
//
// It is for nodes whose record is missing or damaged. A node with an
// intact record starts normally, and forcing recovery on it is refused
// (fail.Refused) unless Force is set; so is a record another host holds
// active, or another node's, as for start.
func (m *Manager) ForceRecovery(ctx context.Context, name string, stop StopOptions, announce func(RecoveryStep, RecoveryResult)) (RecoveryResult, error) {
	res := RecoveryResult{Node: name}
	cfg, err := m.reg.Load(name)
	if err != nil {
		return res, usageIfUnknown(err)
	}
	if m.own == nil {
		return res, fmt.Errorf("node %s: force-recovery needs the host checks (SetOwnership)", name)
	}
	o := *m.own
	lock, err := LockNode(ctx, m.root, name)
	if err != nil {
		return res, err
	}
	defer lock.Unlock()
	st, err := m.rt.State(ctx, name)
	if err != nil {
		return res, err
	}
	if st == Orphaned {
		return res, fail.With(fail.Refused, fmt.Errorf("node %s is %w: its payload runs without its supervisor; "+
			"stop it first with 'storagegrid node stop %s'", name, ErrOrphaned, name))
	}
	dev, err := o.varLocal(name, cfg)
	if err != nil {
		return res, err
	}
	res.Device = dev.Path
	host, err := hostid.Get(m.root)
	if err != nil {
		return res, err
	}
	rec, found, err := readNodeRecord(dev)
	switch {
	case errors.Is(err, blockdev.ErrCorrupt):
		res.Record = "corrupt"
	case err != nil:
		return res, fmt.Errorf("node %s: %w", name, err)
	case !found:
		res.Record = "missing"
	default:
		res.Record = "intact"
		if err := o.checkOwner(name, host, "recovery", rec, blockdev.CleanlyStopped, blockdev.Exported); err != nil {
			return res, err
		}
		if !o.Force {
			return res, fail.Refusedf("node %s: its record on %s is intact (%s, owner %s): 'storagegrid node start %s' "+
				"starts it normally. force-recovery restarts it in recovery mode, after which the grid needs the "+
				"additional recovery steps; if the node does not rejoin the grid, rerun with --force",
				name, dev.Path, rec.State, rec.HostUUID, name)
		}
	}
	if err := m.preflight(name); err != nil {
		return res, err
	}
	announce(RecoveryBegin, res)
	if st != NotRunning {
		announce(RecoveryStop, res)
		if err := m.rt.Stop(ctx, name, stop); err != nil {
			return res, err
		}
		res.Stopped = true
	}
	if err := markRecovery(m.root, name, res.Record); err != nil {
		return res, err
	}
	want := blockdev.Record{Node: name, HostUUID: host, State: blockdev.Active, Config: cfg.Bytes()}
	fresh, err := o.claimRecord(dev, want, "recovery", func(cur blockdev.Record, found bool, readErr error) error {
		if readErr != nil && !errors.Is(readErr, blockdev.ErrCorrupt) {
			return readErr
		}
		if found {
			return o.checkOwner(name, host, "recovery", cur, blockdev.CleanlyStopped, blockdev.Exported)
		}
		return nil
	})
	if err != nil {
		TakeRecovery(m.root, name)
		return res, err
	}
	announce(RecoveryStart, res)
	if err := m.rt.Start(ctx, name); err != nil {
		TakeRecovery(m.root, name)
		fresh.State, fresh.Time = blockdev.CleanlyStopped, time.Time{}
		dev.WriteRecord(fresh)
		return res, err
	}
	res.Result = "recovery-started"
	return res, nil
}

// recoveryFlag is the content of a node's flag in RecoveryDir.
type recoveryFlag struct {
	Node   string    `json:"node"`
	Record string    `json:"record"`
	At     time.Time `json:"at"`
}

func markRecovery(root hostpath.Root, name, record string) error {
	dir := root.Join(RecoveryDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("node %s: %s: %w", name, RecoveryDir, unwrapPath(err))
	}
	data, _ := json.Marshal(recoveryFlag{Node: name, Record: record, At: time.Now().UTC()})
	if err := atomicfile.Write(filepath.Join(dir, name), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("node %s: recovery flag: %w", name, unwrapPath(err))
	}
	return nil
}

// TakeRecovery reports whether the node was started by force-recovery and
// clears the flag: the payload being launched is the one in recovery
// mode, and the next start of the node is a normal one.
func TakeRecovery(root hostpath.Root, name string) (bool, error) {
	if err := ValidName(name); err != nil {
		return false, err
	}
	err := os.Remove(filepath.Join(root.Join(RecoveryDir), name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("node %s: recovery flag: %w", name, unwrapPath(err))
	}
	return true, nil
}
