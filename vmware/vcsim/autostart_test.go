package vcsim

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// The fake HostAutoStartManager must follow ESX's documented rules, or
// tests of the vmware package against it would prove nothing.
func TestHostAutoStartManagerRules(t *testing.T) {
	ctx := context.Background()
	sim, err := Start(ctx, "vpx")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	u, _ := url.Parse(sim.URL)
	u.User = url.UserPassword(Username, Password)
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := sim.Ref("HostSystem", "DC0_C0_H0")
	var h mo.HostSystem
	if err := c.RetrieveOne(ctx, host, []string{"configManager.autoStartManager"}, &h); err != nil {
		t.Fatal(err)
	}
	mgr := *h.ConfigManager.AutoStartManager
	other, _ := sim.Ref("HostSystem", "DC0_C0_H1")
	if err := c.RetrieveOne(ctx, other, []string{"configManager.autoStartManager"}, &h); err != nil || *h.ConfigManager.AutoStartManager == mgr {
		t.Fatalf("each host needs its own manager: %v", err)
	}

	vm := func(name string) types.ManagedObjectReference {
		ref, err := sim.Ref("VirtualMachine", name)
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	a, b, d := vm("DC0_C0_RP0_VM0"), vm("DC0_C0_RP0_VM1"), vm("DC0_H0_VM0")
	reconfigure := func(spec types.HostAutoStartManagerConfig) error {
		_, err := methods.ReconfigureAutostart(ctx, c, &types.ReconfigureAutostart{This: mgr, Spec: spec})
		return err
	}
	on := func(ref types.ManagedObjectReference, order int32) types.AutoStartPowerInfo {
		return types.AutoStartPowerInfo{Key: ref, StartAction: "powerOn", StartOrder: order, StartDelay: -1, StopDelay: -1}
	}
	orders := func() map[types.ManagedObjectReference]int32 {
		cfg, err := sim.AutoStart(ctx, "DC0_C0_H0")
		if err != nil {
			t.Fatal(err)
		}
		m := map[types.ManagedObjectReference]int32{}
		for _, pi := range cfg.PowerInfo {
			m[pi.Key] = pi.StartOrder
		}
		return m
	}

	if err := reconfigure(types.HostAutoStartManagerConfig{PowerInfo: []types.AutoStartPowerInfo{on(a, 1), on(b, 2)}}); err != nil {
		t.Fatal(err)
	}
	// d takes place 1: a and b move down one place each.
	if err := reconfigure(types.HostAutoStartManagerConfig{PowerInfo: []types.AutoStartPowerInfo{on(d, 1)}}); err != nil {
		t.Fatal(err)
	}
	if got := orders(); got[d] != 1 || got[a] != 2 || got[b] != 3 {
		t.Errorf("collision: got %v", got)
	}

	for name, pi := range map[string]types.AutoStartPowerInfo{
		"order 0":         on(a, 0),
		"order -2":        on(a, -2),
		"past the end":    on(a, 5),
		"none with order": {Key: a, StartAction: "none", StartOrder: 1},
		"bad action":      {Key: a, StartAction: "reboot", StartOrder: -1},
		"not a VM":        on(host, -1),
	} {
		// A valid entry first: the invalid one must undo it too.
		err := reconfigure(types.HostAutoStartManagerConfig{PowerInfo: []types.AutoStartPowerInfo{on(b, 1), pi}})
		if err == nil || !strings.Contains(err.Error(), "invalid autostart powerInfo") {
			t.Errorf("%s: got %v, want InvalidArgument", name, err)
		}
	}
	if got := orders(); got[d] != 1 || got[a] != 2 || got[b] != 3 {
		t.Errorf("an invalid spec changed the configuration: %v", got)
	}

	if err := reconfigure(types.HostAutoStartManagerConfig{Defaults: &types.AutoStartDefaults{Enabled: types.NewBool(true), StartDelay: 30}}); err != nil {
		t.Fatal(err)
	}
	cfg, _ := sim.AutoStart(ctx, "DC0_C0_H0")
	if !*cfg.Defaults.Enabled || cfg.Defaults.StartDelay != 30 || cfg.Defaults.StopDelay != 120 || cfg.Defaults.StopAction != "PowerOff" {
		t.Errorf("defaults must merge field by field: %+v", cfg.Defaults)
	}
	if cfg, _ := sim.AutoStart(ctx, "DC0_C0_H1"); cfg.Defaults.Enabled != nil || len(cfg.PowerInfo) != 0 {
		t.Errorf("another host's configuration changed: %+v", cfg)
	}
}
