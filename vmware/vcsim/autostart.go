package vcsim

import (
	"fmt"
	"sort"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// HostAutoStartManager stands in for ESX's HostAutoStartManager, which
// govmomi's simulator does not implement. The simulator dispatches a SOAP
// call by reflection on the object registered in its Map under the
// request's This reference, and serves properties by reflection on the
// embedded mo struct; so registering this type gives clients the `config`
// property and the ReconfigureAutostart method exactly as ESX names them,
// and the vmware package runs unchanged against it.
type HostAutoStartManager struct {
	mo.HostAutoStartManager
}

// installAutoStart registers one HostAutoStartManager per host, starting from
// the host's template configuration (autostart off, 120 s delays), and
// points the host's configManager.autoStartManager at it. The simulator's
// hosts all share one template reference, hence a fresh object per host.
func installAutoStart(m *simulator.Model) {
	reg := m.Map()
	for _, e := range reg.All("HostSystem") {
		host := e.(*simulator.HostSystem)
		mgr := &HostAutoStartManager{}
		mgr.Self.Type = "HostAutoStartManager"
		if tpl := host.Config.AutoStart; tpl != nil && tpl.Defaults != nil {
			d := *tpl.Defaults
			mgr.Config.Defaults = &d
		}
		ref := reg.Put(mgr).Reference()
		host.ConfigManager.AutoStartManager = &ref
	}
}

// ReconfigureAutostart applies spec the way ESX documents it: defaults
// are merged field by field; power infos replace the VM's previous entry;
// startOrder must be -1 or positive, -1 when startAction is none, and at
// most one past the end of the ordered sequence; a colliding order pushes
// the existing VMs one place down.
func (m *HostAutoStartManager) ReconfigureAutostart(ctx *simulator.Context, req *types.ReconfigureAutostart) soap.HasFault {
	body := new(methods.ReconfigureAutostartBody)
	next, fault := m.apply(ctx, req.Spec)
	if fault != nil {
		body.Fault_ = simulator.Fault(fmt.Sprintf("invalid autostart %s", fault.InvalidProperty), fault)
		return body
	}
	m.Config = next
	body.Res = new(types.ReconfigureAutostartResponse)
	return body
}

// apply computes the new configuration without touching the current one,
// so an invalid spec changes nothing.
func (m *HostAutoStartManager) apply(ctx *simulator.Context, spec types.HostAutoStartManagerConfig) (types.HostAutoStartManagerConfig, *types.InvalidArgument) {
	next := types.HostAutoStartManagerConfig{PowerInfo: append([]types.AutoStartPowerInfo(nil), m.Config.PowerInfo...)}
	if m.Config.Defaults != nil {
		d := *m.Config.Defaults
		next.Defaults = &d
	}
	if spec.Defaults != nil {
		next.Defaults = mergeDefaults(next.Defaults, *spec.Defaults)
	}
	for _, pi := range spec.PowerInfo {
		if _, ok := ctx.Map.Get(pi.Key).(*simulator.VirtualMachine); !ok {
			return next, &types.InvalidArgument{InvalidProperty: "powerInfo.key"}
		}
		switch pi.StartAction {
		case "none", "powerOn", "systemDefault":
		default:
			return next, &types.InvalidArgument{InvalidProperty: "powerInfo.startAction"}
		}
		if pi.StartOrder == 0 || pi.StartOrder < -1 || (pi.StartAction == "none" && pi.StartOrder != -1) {
			return next, &types.InvalidArgument{InvalidProperty: "powerInfo.startOrder"}
		}
		var ok bool
		if next.PowerInfo, ok = place(next.PowerInfo, pi); !ok {
			return next, &types.InvalidArgument{InvalidProperty: "powerInfo.startOrder"}
		}
	}
	return next, nil
}

func mergeDefaults(cur *types.AutoStartDefaults, in types.AutoStartDefaults) *types.AutoStartDefaults {
	d := types.AutoStartDefaults{}
	if cur != nil {
		d = *cur
	}
	if in.Enabled != nil {
		d.Enabled = in.Enabled
	}
	if in.StartDelay != 0 {
		d.StartDelay = in.StartDelay
	}
	if in.StopDelay != 0 {
		d.StopDelay = in.StopDelay
	}
	if in.WaitForHeartbeat != nil {
		d.WaitForHeartbeat = in.WaitForHeartbeat
	}
	if in.StopAction != "" {
		d.StopAction = in.StopAction
	}
	return &d
}

// place replaces pi's VM entry in list and resolves order collisions.
func place(list []types.AutoStartPowerInfo, pi types.AutoStartPowerInfo) ([]types.AutoStartPowerInfo, bool) {
	out := list[:0:0]
	ordered := 0
	for _, e := range list {
		if e.Key == pi.Key {
			continue
		}
		if e.StartOrder > 0 {
			ordered++
		}
		out = append(out, e)
	}
	if pi.StartOrder > int32(ordered)+1 {
		return list, false
	}
	if pi.StartOrder > 0 {
		sort.SliceStable(out, func(i, j int) bool { return out[i].StartOrder < out[j].StartOrder })
		want := pi.StartOrder
		for i := range out {
			if out[i].StartOrder == want {
				out[i].StartOrder++
				want++
			}
		}
	}
	return append(out, pi), true
}
