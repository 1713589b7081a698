package vmware

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// AutostartOptions are the per-VM settings autostart enable writes.
type AutostartOptions struct {
	StartDelay       time.Duration // negative: the host's default delay
	StartOrder       int           // 0: keep the VM's place, or any order when it has none
	WaitForHeartbeat bool          // start the next VM only once this one's tools report a heartbeat
}

// VMAutostart is one VM's autostart settings, as the host holds them.
type VMAutostart struct {
	VM               string `json:"vm"`
	Host             string `json:"host"`
	StartAction      string `json:"start_action"`        // powerOn or none
	StartDelay       int    `json:"start_delay_seconds"` // -1: the host's default
	StartOrder       int    `json:"start_order"`         // -1: any order
	StopAction       string `json:"stop_action"`
	WaitForHeartbeat string `json:"wait_for_heartbeat"` // yes, no or systemDefault
}

// VMAutostartChange is a VM's new settings and whether they differ from
// the old ones.
type VMAutostartChange struct {
	VMAutostart
	Changed bool `json:"changed"`
}

// Starts reports whether the host powers the VM on when it starts
// (given that the host's autostart is on).
func (v VMAutostart) Starts() bool { return v.StartAction == string(types.AutoStartActionPowerOn) }

// HostAutostart is a host's autostart defaults and its VMs' settings.
type HostAutostart struct {
	Host             string        `json:"host"`
	ConnectionState  string        `json:"connection_state"`
	Enabled          bool          `json:"enabled"`
	StartDelay       int           `json:"start_delay_seconds"`
	StopDelay        int           `json:"stop_delay_seconds"`
	StopAction       string        `json:"stop_action"`
	WaitForHeartbeat bool          `json:"wait_for_heartbeat"`
	VMs              []VMAutostart `json:"vms"`
}

// AutostartChange is what autostart enable or disable did.
type AutostartChange struct {
	HostsEnabled []string            `json:"hosts_enabled"` // hosts whose autostart was off and is now on
	VMs          []VMAutostartChange `json:"vms"`
}

// EnableAutostart sets each VM to power on with its host, and turns on the
// host's autostart when it is off (reported in HostsEnabled). With a start
// order N the VMs take places N, N+1, ... in the order given.
func (c *Client) EnableAutostart(ctx context.Context, args []string, opts AutostartOptions) (*AutostartChange, error) {
	ch, err := c.reconfigure(ctx, args, func(i int, prev types.AutoStartPowerInfo) types.AutoStartPowerInfo {
		return enabledInfo(i, prev, opts)
	}, opts.StartOrder)
	return ch, c.finish(err, "configuring autostart")
}

// DisableAutostart takes each VM out of its host's autostart sequence.
// The host's defaults are left alone: other VMs may rely on them.
func (c *Client) DisableAutostart(ctx context.Context, args []string) (*AutostartChange, error) {
	ch, err := c.reconfigure(ctx, args, func(_ int, prev types.AutoStartPowerInfo) types.AutoStartPowerInfo {
		return notStarting(prev.Key)
	}, 0)
	return ch, c.finish(err, "configuring autostart")
}

// notStarting is the setting of a VM the host has no entry for.
func notStarting(vm types.ManagedObjectReference) types.AutoStartPowerInfo {
	return types.AutoStartPowerInfo{
		Key: vm, StartAction: string(types.AutoStartActionNone), StartOrder: -1, StartDelay: -1,
		StopAction: string(types.AutoStartActionSystemDefault), StopDelay: -1,
		WaitForHeartbeat: types.AutoStartWaitHeartbeatSettingSystemDefault,
	}
}

func enabledInfo(i int, prev types.AutoStartPowerInfo, opts AutostartOptions) types.AutoStartPowerInfo {
	pi := notStarting(prev.Key)
	pi.StartAction = string(types.AutoStartActionPowerOn)
	switch {
	case opts.StartOrder > 0:
		pi.StartOrder = int32(opts.StartOrder + i)
	case prev.StartOrder > 0:
		pi.StartOrder = prev.StartOrder
	}
	if opts.StartDelay >= 0 {
		pi.StartDelay = int32(opts.StartDelay / time.Second)
	}
	if opts.WaitForHeartbeat {
		pi.WaitForHeartbeat = types.AutoStartWaitHeartbeatSettingYes
	}
	return pi
}

// hostBatch is the VMs of one host that a command changes.
type hostBatch struct {
	host *hostInfo
	vms  []*vmInfo
}

// reconfigure resolves every VM and checks every host before it changes
// anything, then writes each host's new settings in one call.
func (c *Client) reconfigure(ctx context.Context, args []string, set func(int, types.AutoStartPowerInfo) types.AutoStartPowerInfo, order int) (*AutostartChange, error) {
	inv, err := c.inventory(ctx)
	if err != nil {
		return nil, c.explain(err, inv, nil)
	}
	vms, err := c.findVMs(ctx, inv, args)
	if err != nil {
		return nil, err
	}
	batches, err := byHost(inv, vms)
	if err != nil {
		return nil, err
	}
	hosts := make([]*hostInfo, len(batches))
	for i, b := range batches {
		hosts[i] = b.host
	}
	cfgs, err := c.autostartConfigs(ctx, hosts)
	if err != nil {
		return nil, c.explain(err, inv, nil)
	}
	if err := checkOrder(batches, cfgs, order); err != nil {
		return nil, err
	}
	ch := &AutostartChange{HostsEnabled: []string{}, VMs: []VMAutostartChange{}}
	for i, b := range batches {
		if err := c.reconfigureHost(ctx, inv, b, cfgs[b.host.ref], set, ch); err != nil {
			if i > 0 {
				return ch, fail.With(fail.Partial, fmt.Errorf("%w (hosts before %s were changed)", err, b.host.name))
			}
			return nil, err
		}
	}
	return ch, nil
}

func (c *Client) reconfigureHost(ctx context.Context, inv *inventory, b hostBatch, cfg types.HostAutoStartManagerConfig, set func(int, types.AutoStartPowerInfo) types.AutoStartPowerInfo, ch *AutostartChange) error {
	prev := powerInfos(cfg)
	spec := types.HostAutoStartManagerConfig{}
	var done []VMAutostartChange
	for i, vm := range b.vms {
		old, ok := prev[vm.ref]
		if !ok {
			old = notStarting(vm.ref)
		}
		pi := set(i, old)
		spec.PowerInfo = append(spec.PowerInfo, pi)
		done = append(done, VMAutostartChange{VMAutostart: vmAutostart(vm.name, b.host.name, pi), Changed: !samePowerInfo(old, pi)})
	}
	enable := anyStarts(spec.PowerInfo) && !defaultsEnabled(cfg)
	if enable {
		// The current defaults with autostart on, so that no server can
		// read an omitted delay as zero.
		d := types.AutoStartDefaults{}
		if cfg.Defaults != nil {
			d = *cfg.Defaults
		}
		d.Enabled = types.NewBool(true)
		spec.Defaults = &d
	}
	changed := enable
	for _, d := range done {
		changed = changed || d.Changed
	}
	if !changed {
		// Nothing to change: no write, which a role that may only read
		// need not be allowed, and no task in vCenter's history.
		ch.VMs = append(ch.VMs, done...)
		return nil
	}
	req := types.ReconfigureAutostart{This: *b.host.autostart, Spec: spec}
	if _, err := methods.ReconfigureAutostart(ctx, c.vc, &req); err != nil {
		return fmt.Errorf("host %s: changing autostart: %w", b.host.name, c.explain(err, inv, nil))
	}
	if enable {
		ch.HostsEnabled = append(ch.HostsEnabled, b.host.name)
	}
	ch.VMs = append(ch.VMs, done...)
	return nil
}

// byHost groups VMs by host, hosts in the order their first VM was
// named; a VM whose host is not connected is an error.
func byHost(inv *inventory, vms []*vmInfo) ([]hostBatch, error) {
	var out []hostBatch
	index := map[types.ManagedObjectReference]int{}
	for _, vm := range vms {
		h, err := inv.hostOf(vm)
		if err != nil {
			return nil, err
		}
		i, ok := index[h.ref]
		if !ok {
			i = len(out)
			index[h.ref] = i
			out = append(out, hostBatch{host: h})
		}
		out[i].vms = append(out[i].vms, vm)
	}
	return out, nil
}

// checkOrder refuses a start order past the end of a host's sequence,
// which ESX rejects with a bare InvalidArgument.
func checkOrder(batches []hostBatch, cfgs map[types.ManagedObjectReference]types.HostAutoStartManagerConfig, order int) error {
	if order <= 0 {
		return nil
	}
	for _, b := range batches {
		ours := map[types.ManagedObjectReference]bool{}
		for _, vm := range b.vms {
			ours[vm.ref] = true
		}
		n := 0
		for _, pi := range cfgs[b.host.ref].PowerInfo {
			if pi.StartOrder > 0 && !ours[pi.Key] {
				n++
			}
		}
		if order > n+1 {
			return fail.Usagef("--start-order %d: host %s has %d other VMs in its start order, so the order can be 1 to %d", order, b.host.name, n, n+1)
		}
	}
	return nil
}

// AutostartStatus returns the autostart settings of one host (by name or
// inventory path) or, with host "", of every host, sorted by name.
func (c *Client) AutostartStatus(ctx context.Context, host string) ([]HostAutostart, error) {
	st, err := c.autostartStatus(ctx, host)
	return st, c.finish(err, "reading autostart settings")
}

func (c *Client) autostartStatus(ctx context.Context, host string) ([]HostAutostart, error) {
	inv, err := c.inventory(ctx)
	if err != nil {
		return nil, c.explain(err, inv, nil)
	}
	var hosts []*hostInfo
	if host != "" {
		h, err := c.findHost(ctx, inv, host)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
	} else {
		for _, h := range inv.hosts {
			hosts = append(hosts, h)
		}
		sort.Slice(hosts, func(i, j int) bool { return hosts[i].name < hosts[j].name })
	}
	var connected []*hostInfo
	for _, h := range hosts {
		if h.state == types.HostSystemConnectionStateConnected {
			connected = append(connected, h)
		}
	}
	cfgs, err := c.autostartConfigs(ctx, connected)
	if err != nil {
		return nil, c.explain(err, inv, nil)
	}
	out := make([]HostAutostart, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, hostAutostart(inv, h, cfgs))
	}
	return out, nil
}

// hostAutostart describes one host; a host that is not connected has no
// readable settings and is listed without VMs.
func hostAutostart(inv *inventory, h *hostInfo, cfgs map[types.ManagedObjectReference]types.HostAutoStartManagerConfig) HostAutostart {
	ha := HostAutostart{Host: h.name, ConnectionState: string(h.state), VMs: []VMAutostart{}}
	cfg, ok := cfgs[h.ref]
	if !ok {
		return ha
	}
	if d := cfg.Defaults; d != nil {
		ha.Enabled = d.Enabled != nil && *d.Enabled
		ha.StartDelay, ha.StopDelay, ha.StopAction = int(d.StartDelay), int(d.StopDelay), d.StopAction
		ha.WaitForHeartbeat = d.WaitForHeartbeat != nil && *d.WaitForHeartbeat
	}
	prev := powerInfos(cfg)
	for i := range inv.vms {
		vm := &inv.vms[i]
		if vm.template || vm.host == nil || *vm.host != h.ref {
			continue
		}
		pi, ok := prev[vm.ref]
		if !ok {
			pi = notStarting(vm.ref)
		}
		ha.VMs = append(ha.VMs, vmAutostart(vm.name, h.name, pi))
	}
	sortStartSequence(ha.VMs)
	return ha
}

// sortStartSequence orders VMs as the host starts them: numbered places
// first, then "any order", then VMs that do not start; names break ties.
func sortStartSequence(vms []VMAutostart) {
	rank := func(v VMAutostart) int {
		switch {
		case !v.Starts():
			return 2
		case v.StartOrder < 0:
			return 1
		}
		return 0
	}
	sort.SliceStable(vms, func(i, j int) bool {
		a, b := vms[i], vms[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		if rank(a) == 0 && a.StartOrder != b.StartOrder {
			return a.StartOrder < b.StartOrder
		}
		return a.VM < b.VM
	})
}

func vmAutostart(vm, host string, pi types.AutoStartPowerInfo) VMAutostart {
	return VMAutostart{
		VM: vm, Host: host, StartAction: pi.StartAction, StartDelay: int(pi.StartDelay),
		StartOrder: int(pi.StartOrder), StopAction: pi.StopAction, WaitForHeartbeat: string(pi.WaitForHeartbeat),
	}
}

func powerInfos(cfg types.HostAutoStartManagerConfig) map[types.ManagedObjectReference]types.AutoStartPowerInfo {
	m := make(map[types.ManagedObjectReference]types.AutoStartPowerInfo, len(cfg.PowerInfo))
	for _, pi := range cfg.PowerInfo {
		m[pi.Key] = pi
	}
	return m
}

func samePowerInfo(a, b types.AutoStartPowerInfo) bool {
	return a.StartAction == b.StartAction && a.StartOrder == b.StartOrder && a.StartDelay == b.StartDelay &&
		a.StopAction == b.StopAction && a.StopDelay == b.StopDelay && a.WaitForHeartbeat == b.WaitForHeartbeat
}

func defaultsEnabled(cfg types.HostAutoStartManagerConfig) bool {
	return cfg.Defaults != nil && cfg.Defaults.Enabled != nil && *cfg.Defaults.Enabled
}

func anyStarts(pis []types.AutoStartPowerInfo) bool {
	for _, pi := range pis {
		if pi.StartAction == string(types.AutoStartActionPowerOn) {
			return true
		}
	}
	return false
}
