package vmware

import (
	"context"
	"fmt"
	"path"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// CheckResult is one grid VM and what would keep it from coming back
// after its host restarts.
type CheckResult struct {
	VM         string   `json:"vm"`
	Host       string   `json:"host"`
	PowerState string   `json:"power_state"`
	Problems   []string `json:"problems"` // empty when the VM would come back
}

// Check looks at every VM whose name matches the glob pattern (path.Match
// syntax) and returns them all, sorted by name. The error is fail.Invalid
// when any is powered off, suspended, on a host that is not connected, on
// a host whose autostart is off, or not set to power on with its host,
// and also when no VM matches (a check of nothing must not pass).
func (c *Client) Check(ctx context.Context, pattern string) ([]CheckResult, error) {
	res, err := c.check(ctx, pattern)
	return res, c.finish(err, "reading the inventory")
}

func (c *Client) check(ctx context.Context, pattern string) ([]CheckResult, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fail.Usagef("pattern %q: %v", pattern, err)
	}
	inv, err := c.inventory(ctx)
	if err != nil {
		return nil, c.explain(err, inv, nil)
	}
	var vms []*vmInfo
	hostSet := map[types.ManagedObjectReference]*hostInfo{}
	for i := range inv.vms {
		vm := &inv.vms[i]
		if ok, _ := path.Match(pattern, vm.name); !ok || vm.template {
			continue
		}
		vms = append(vms, vm)
		if h, err := inv.hostOf(vm); err == nil {
			hostSet[h.ref] = h
		}
	}
	if len(vms) == 0 {
		return nil, fail.Invalidf("no VM matches the grid pattern %q (--pattern, or pattern in the [vmware] section of storagegrid.toml)", pattern)
	}
	hosts := make([]*hostInfo, 0, len(hostSet))
	for _, h := range hostSet {
		hosts = append(hosts, h)
	}
	cfgs, unknown, err := c.autostartPerHost(ctx, hosts)
	if err != nil {
		return nil, c.explain(err, inv, nil)
	}
	out := make([]CheckResult, 0, len(vms))
	bad := 0
	for _, vm := range vms {
		r := checkVM(inv, vm, cfgs, unknown)
		if len(r.Problems) > 0 {
			bad++
		}
		out = append(out, r)
	}
	if bad > 0 {
		return out, fail.Invalidf("%d of %d grid VMs would not come back after a host restart", bad, len(vms))
	}
	return out, nil
}

// autostartPerHost reads each host's autostart configuration on its own,
// so that one host whose configuration cannot be read (no autostart
// manager, as govmomi's simulator; a role without the privilege) costs
// only that host's answer: unknown says why, per host. A server that does
// not answer in time ends the check.
func (c *Client) autostartPerHost(ctx context.Context, hosts []*hostInfo) (map[types.ManagedObjectReference]types.HostAutoStartManagerConfig, map[types.ManagedObjectReference]string, error) {
	unknown := map[types.ManagedObjectReference]string{}
	var readable []*hostInfo
	for _, h := range hosts {
		if h.autostart == nil {
			unknown[h.ref] = "the host has no autostart manager"
		} else {
			readable = append(readable, h)
		}
	}
	// One call for all hosts; host by host only to tell which failed.
	cfgs, err := c.autostartConfigs(ctx, readable)
	if err == nil || isTimeout(err) {
		return cfgs, unknown, err
	}
	cfgs = map[types.ManagedObjectReference]types.HostAutoStartManagerConfig{}
	for _, h := range readable {
		one, err := c.autostartConfigs(ctx, []*hostInfo{h})
		switch {
		case err != nil && isTimeout(err):
			return nil, nil, err
		case err != nil:
			if pe, ok := permissionError(err, c.cfg.Username, func(r types.ManagedObjectReference) string { return h.name }); ok {
				err = pe
			}
			unknown[h.ref] = err.Error()
		default:
			cfgs[h.ref] = one[h.ref]
		}
	}
	return cfgs, unknown, nil
}

func checkVM(inv *inventory, vm *vmInfo, cfgs map[types.ManagedObjectReference]types.HostAutoStartManagerConfig, unknown map[types.ManagedObjectReference]string) CheckResult {
	r := CheckResult{VM: vm.name, PowerState: string(vm.power), Problems: []string{}}
	switch vm.power {
	case types.VirtualMachinePowerStatePoweredOff:
		r.Problems = append(r.Problems, "powered off")
	case types.VirtualMachinePowerStateSuspended:
		r.Problems = append(r.Problems, "suspended")
	}
	h, err := inv.hostOf(vm)
	switch {
	case h == nil:
		r.Problems = append(r.Problems, "no host (orphaned or inaccessible)")
		return r
	case err != nil:
		r.Host = h.name
		r.Problems = append(r.Problems, fmt.Sprintf("host not connected (%s)", h.state))
		return r
	}
	r.Host = h.name
	if why, ok := unknown[h.ref]; ok {
		r.Problems = append(r.Problems, "autostart unknown: "+why)
		return r
	}
	cfg := cfgs[h.ref]
	if !defaultsEnabled(cfg) {
		r.Problems = append(r.Problems, "host autostart off")
	}
	if pi, ok := powerInfos(cfg)[vm.ref]; !ok || pi.StartAction != string(types.AutoStartActionPowerOn) {
		r.Problems = append(r.Problems, "not set to start with its host")
	}
	return r
}
