package node

import (
	"errors"
	"fmt"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/hostid"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/netcheck"
)

// VarLocalKey names the device that carries a node's record.
const VarLocalKey = "BLOCK_DEVICE_VAR_LOCAL"

// ErrOwned is matched (errors.Is) when a node's record says another host
// owns it; the error is an *OwnedError.
var ErrOwned = errors.New("owned by another host")

// OwnedError is the refusal to act on a node another host owns. Its text
// is the runbook's two lines.
type OwnedError struct {
	Node   string
	Host   string         // the owning host's UUID
	State  blockdev.State // what the record says the owner did
	Action string         // "import", "start" or "export"
	// Detail, when set, is a third line: when the owner was last seen,
	// or why --force will not help.
	Detail string
}

func (e *OwnedError) Error() string {
	msg := fmt.Sprintf("This node (%s) appears to be owned by another host (UUID %s).\n"+
		"Use the --force flag if you are sure %s is safe.", e.Node, e.Host, e.Action)
	if e.Detail != "" {
		msg += "\n" + e.Detail
	}
	return msg
}

// Is makes errors.Is(err, ErrOwned) true.
func (e *OwnedError) Is(target error) bool { return target == ErrOwned }

// Ownership configures how the Manager keeps the var-local record (Start
// marks it active for this host, a clean Stop marks it cleanly-stopped,
// Export marks it exported and Import reads it) and how validate sees
// this host's devices and interfaces.
type Ownership struct {
	// Devices says whether regular files may stand in for block devices
	// ([devices] allow_files). Its Root is the Manager's.
	Devices blockdev.Options
	// Force overrides ownership refusals (the global --force).
	Force bool
	// NetworkView reads the host's interfaces for validate; nil means
	// netcheck.ReadView (this network namespace).
	NetworkView func() (*netcheck.View, error)
	// Lease times the claims (lease.go); zero means DefaultLease.
	Lease LeaseTiming
}

// SetOwnership turns on the ownership step of Start and Stop and sets
// the options of Export, Import and Validate. A Manager without it leaves
// records alone, which is what tests of the runtimes want.
func (m *Manager) SetOwnership(o Ownership) {
	o.Devices.Root = m.root
	m.own = &o
}

// ownership returns the options in force; the zero options when none
// were set.
func (m *Manager) ownership() Ownership {
	if m.own != nil {
		return *m.own
	}
	return Ownership{Devices: blockdev.Options{Root: m.root}}
}

// varLocal probes the device cfg names as BLOCK_DEVICE_VAR_LOCAL.
func (o Ownership) varLocal(name string, cfg *Config) (blockdev.Device, error) {
	path, ok := cfg.Get(VarLocalKey)
	if !ok || path == "" {
		return blockdev.Device{}, fail.Invalidf("%s: %s is not set: node %s has no var-local device to keep its record on",
			cfg.File(), VarLocalKey, name)
	}
	dev, err := blockdev.Probe(path, o.Devices)
	if err != nil {
		return blockdev.Device{}, fmt.Errorf("node %s: var-local device: %w", name, err)
	}
	return dev, nil
}

// readNodeRecord returns the device's record; found is false when the device
// has none yet.
func readNodeRecord(dev blockdev.Device) (rec blockdev.Record, found bool, err error) {
	rec, err = dev.ReadRecord()
	if errors.Is(err, blockdev.ErrNoRecord) {
		return rec, false, nil
	}
	return rec, err == nil, err
}

// checkOwner decides whether this host may take over a node whose record
// is rec: refusals are fail.Refused. accept lists the states another host
// may have left the record in. Force overrides the refusals, except of an
// active claim its owner still renews: that node runs there.
func (o Ownership) checkOwner(name, host, action string, rec blockdev.Record, accept ...blockdev.State) error {
	if rec.Node != name {
		if o.Force {
			return nil
		}
		return fail.Refusedf("the var-local record names node %s, not %s: this is another node's device "+
			"(use --force to overwrite its record)", rec.Node, name)
	}
	if rec.HostUUID == host {
		return nil
	}
	owned := &OwnedError{Node: name, Host: rec.HostUUID, State: rec.State, Action: action}
	if rec.State == blockdev.Active {
		ago, expire := age(rec).Round(time.Second), o.lease().ExpireAfter
		if ago < expire {
			owned.Detail = fmt.Sprintf("Its owner renewed its claim %s ago: the node runs there. "+
				"--force takes over only a claim not renewed for %s (lease.expire_after).", ago, expire)
			return fail.With(fail.Refused, owned)
		}
		owned.Detail = fmt.Sprintf("Its owner was last seen %s ago: its claim expired after %s.", ago, expire)
	}
	if o.Force {
		return nil
	}
	for _, s := range accept {
		if rec.State == s {
			return nil
		}
	}
	return fail.With(fail.Refused, owned)
}

// damaged turns a record that cannot be read into a refusal --force may
// override (by writing a fresh record); other errors pass unchanged.
func (o Ownership) damaged(name string, err error) error {
	switch {
	case err == nil || o.Force && errors.Is(err, blockdev.ErrCorrupt):
		return nil
	case errors.Is(err, blockdev.ErrCorrupt):
		return fail.Refusedf("node %s: %w (use --force to write a fresh record)", name, err)
	}
	return fmt.Errorf("node %s: %w", name, err)
}

// claim marks the node's record active for this host before its payload
// starts, by the lease protocol (claimRecord): it refuses a record another
// host holds (active, cleanly stopped there, or exported and not imported
// here), and one exported by this host, which is an export the next
// command finishes. The returned undo puts the record back to this host's
// cleanly-stopped for a start that fails. The caller holds the node lock.
func (m *Manager) claim(name string) (undo func(), err error) {
	if m.own == nil {
		return func() {}, nil
	}
	o := *m.own
	cfg, dev, host, err := m.owned(name)
	if err != nil {
		return nil, err
	}
	want := blockdev.Record{Node: name, HostUUID: host, State: blockdev.Active, Config: cfg.Bytes()}
	rec, err := o.claimRecord(dev, want, "start", func(cur blockdev.Record, found bool, readErr error) error {
		if err := o.damaged(name, readErr); err != nil || !found {
			return err
		}
		if cur.State == blockdev.Exported && cur.Node == name && !o.Force {
			return fail.Refusedf("node %s was exported to %s (by host %s): import it on the host that is to run it "+
				"('storagegrid node import %s') before starting it", name, dev.Path, cur.HostUUID, dev.Path)
		}
		return o.checkOwner(name, host, "start", cur)
	})
	if err != nil {
		return nil, err
	}
	return func() {
		rec.State, rec.Time = blockdev.CleanlyStopped, time.Time{}
		dev.WriteRecord(rec)
	}, nil
}

// owned reads what the claim of a node configured here works with: its
// config, its var-local device and this host's UUID. The Manager has host
// checks (SetOwnership).
func (m *Manager) owned(name string) (*Config, blockdev.Device, string, error) {
	cfg, err := m.reg.Load(name)
	if err != nil {
		return nil, blockdev.Device{}, "", usageIfUnknown(err)
	}
	dev, err := m.own.varLocal(name, cfg)
	if err != nil {
		return nil, blockdev.Device{}, "", err
	}
	host, err := hostid.Get(m.root)
	return cfg, dev, host, err
}

// release marks the node's record cleanly-stopped after a clean stop. A
// record another host has taken over since (with --force) is left alone:
// it is that host's now. The caller holds the node lock.
func (m *Manager) release(name string) error {
	if m.own == nil {
		return nil
	}
	cfg, dev, host, err := m.owned(name)
	if err != nil {
		return err
	}
	rec, found, err := readNodeRecord(dev)
	if err != nil && !errors.Is(err, blockdev.ErrCorrupt) {
		return fmt.Errorf("node %s: %w", name, err)
	}
	if found && (rec.HostUUID != host || rec.Node != name) {
		return nil
	}
	rec = blockdev.Record{Node: name, HostUUID: host, State: blockdev.CleanlyStopped, Config: cfg.Bytes()}
	if _, err := dev.WriteRecord(rec); err != nil {
		return fmt.Errorf("node %s: mark record cleanly-stopped: %w", name, err)
	}
	return nil
}
