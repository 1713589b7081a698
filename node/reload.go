package node

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/nodekey"
)

// Change is one key that differs between the config a node runs with and
// its config file now.
type Change struct {
	Key string `json:"key"`
	Old string `json:"old,omitempty"` // empty: added (or a secret)
	New string `json:"new,omitempty"` // empty: removed (or a secret)
	// Live: reload applies it to the running node. Otherwise Why says what
	// it takes instead.
	Live bool   `json:"live"`
	Why  string `json:"why,omitempty"`
}

// ReloadResult is what reload did.
type ReloadResult struct {
	Node    string   `json:"node"`
	Result  string   `json:"result"` // reloaded, unchanged, not-running
	Changes []Change `json:"changes,omitempty"`
}

// RestartNeededError is reload's refusal of changes a running node cannot
// take: nothing was applied.
type RestartNeededError struct {
	Node    string
	Changes []Change // those that are not Live
}

func (e *RestartNeededError) Error() string {
	return fmt.Sprintf("node %s: %d change(s) cannot be applied to the running node; nothing was reloaded",
		e.Node, len(e.Changes))
}

// Reload applies the config file of a running node to it, as the host
// service's 'node reload' after an interface was added (NetApp's "Add
// Admin or Client interfaces" and "Add trunk or access interfaces"
// procedures): it validates the node first (fail.Invalid with
// *ValidationError), compares the file with the config the node started
// with (kept in its var-local record), and when every difference can be
// applied live (an added Admin or Client Network target with its MAC, an
// added INTERFACE_TARGET_nnnn) has the runtime signal the payload
// (SIGHUP) and records the file as the config in force. Anything else is
// refused (fail.Refused with *RestartNeededError) and nothing changes. A
// node that is not running reads its file when it starts: not-running.
func (m *Manager) Reload(ctx context.Context, name string) (ReloadResult, error) {
	res := ReloadResult{Node: name}
	if _, err := m.reg.Load(name); err != nil {
		return res, usageIfUnknown(err)
	}
	if m.own == nil {
		return res, fmt.Errorf("node %s: reload needs the host checks (SetOwnership)", name)
	}
	lock, err := LockNode(ctx, m.root, name)
	if err != nil {
		return res, err
	}
	defer lock.Unlock()
	switch st, err := m.rt.State(ctx, name); {
	case err != nil:
		return res, err
	case st == NotRunning:
		res.Result = "not-running"
		return res, nil
	case st != Running:
		return res, fail.Refusedf("node %s is %s: reload it once it is Running", name, st)
	}
	if err := m.preflight(name); err != nil {
		return res, err
	}
	cfg, err := m.reg.Load(name)
	if err != nil {
		return res, err
	}
	dev, rec, running, err := m.runningConfig(name, cfg)
	if err != nil {
		return res, err
	}
	res.Changes = compareConfigs(running, cfg)
	var refused []Change
	for _, c := range res.Changes {
		if !c.Live {
			refused = append(refused, c)
		}
	}
	switch {
	case len(res.Changes) == 0:
		res.Result = "unchanged"
		return res, nil
	case len(refused) > 0:
		return res, fail.With(fail.Refused, &RestartNeededError{Node: name, Changes: refused})
	}
	// The payload first: a record that says "in force" must not run ahead
	// of the node; should the signal fail, the next reload tries again.
	if err := m.rt.Reload(ctx, name); err != nil {
		return res, err
	}
	rec.Config = cfg.Bytes()
	if _, err := dev.WriteRecord(rec); err != nil {
		return res, fmt.Errorf("node %s: record the reloaded config: %w", name, err)
	}
	res.Result = "reloaded"
	return res, nil
}

// runningConfig reads the config node name runs with: the one its
// var-local record took when this host started it.
func (m *Manager) runningConfig(name string, cfg *Config) (blockdev.Device, blockdev.Record, *Config, error) {
	dev, err := m.own.varLocal(name, cfg)
	if err != nil {
		return dev, blockdev.Record{}, nil, err
	}
	rec, found, err := readNodeRecord(dev)
	switch {
	case err != nil:
		return dev, rec, nil, fmt.Errorf("node %s: %w", name, err)
	case !found || rec.Node != name || rec.State != blockdev.Active:
		return dev, rec, nil, fmt.Errorf("node %s: cannot tell which config it runs with: the record on %s is not "+
			"its active record (stop and start the node to apply its config)", name, dev.Path)
	}
	running, err := ParseConfig(dev.Path+" (record)", bytes.NewReader(rec.Config))
	if err != nil {
		return dev, rec, nil, err
	}
	return dev, rec, running, nil
}

// compareConfigs lists the keys whose value differs between old and cur,
// in cur's order, then the removed keys, each classified.
func compareConfigs(old, cur *Config) []Change {
	var out []Change
	add := func(k string) {
		ov, inOld := old.Get(k)
		nv, inCur := cur.Get(k)
		if inOld == inCur && ov == nv {
			return
		}
		c := Change{Key: k, Old: ov, New: nv}
		c.Live, c.Why = liveChange(k, old, cur)
		if nodekey.Secret(k) {
			c.Old, c.New = "", ""
		}
		out = append(out, c)
	}
	for _, k := range cur.Keys() {
		add(k)
	}
	for _, k := range old.Keys() {
		if _, ok := cur.Get(k); !ok {
			add(k)
		}
	}
	return out
}

// liveChange says whether a running node can take the change of key k,
// and if not, what it takes.
func liveChange(k string, old, cur *Config) (bool, string) {
	_, inOld := old.Get(k)
	_, inCur := cur.Get(k)
	added := !inOld && inCur
	const restart = "takes effect only when the node restarts ('storagegrid node stop NAME', then 'node start NAME')"
	net, field, isNet := strings.Cut(k, "_NETWORK_")
	isNet = isNet && networkKey.MatchString(k)
	switch {
	case !KnownKey(k):
		return true, "" // an unknown key: the node ignores it
	case nodekey.Secret(k) || k == "TEMPORARY_PASSWORD_TYPE":
		return true, "" // "Setting this value has no effect when installation has completed."
	case interfaceTargetKey.MatchString(k):
		if added {
			return true, ""
		}
		ov, _ := old.Get(k)
		nv, _ := cur.Get(k)
		on, _ := nodekey.InterfaceTarget(ov)
		nn, _ := nodekey.InterfaceTarget(nv)
		if inCur && on == nn {
			return true, "" // the description only
		}
		return false, "an interface is removed from or changed on a node only by a restart; " + restart
	case isNet && field == "TARGET":
		if added && net != "GRID" {
			return true, ""
		}
		return false, "a network's target interface changes only by a restart; " + restart
	case isNet && (field == "MAC" || field == "TARGET_TYPE" || field == "TARGET_TYPE_INTERFACE_CLONE_MAC"):
		_, targetBefore := old.Get(net + "_NETWORK_TARGET")
		_, targetNow := cur.Get(net + "_NETWORK_TARGET")
		if added && !targetBefore && targetNow {
			return true, "" // set with the interface being added
		}
		return false, restart
	case isNet || k == "ADMIN_NETWORK_ESL":
		return false, "a node's addresses are changed with the Change IP tool, not in its node configuration file"
	}
	return false, restart
}
