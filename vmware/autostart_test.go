package vmware

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/vmware/vcsim"
)

const esxHost = "localhost.localdomain"

// serverInfo reads what the (simulated) host holds for vm, by name.
func serverInfo(t *testing.T, sim *vcsim.Sim, host, vm string) (types.HostAutoStartManagerConfig, *types.AutoStartPowerInfo) {
	t.Helper()
	cfg, err := sim.AutoStart(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := sim.Ref("VirtualMachine", vm)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.PowerInfo {
		if cfg.PowerInfo[i].Key == ref {
			return cfg, &cfg.PowerInfo[i]
		}
	}
	return cfg, nil
}

func TestAutostartEnableTurnsOnHostDefaults(t *testing.T) {
	sim := startSim(t, "esx")
	c := connectSim(t, sim)
	ctx := context.Background()

	ch, err := c.EnableAutostart(ctx, []string{"ha-host_VM0", "ha-host_VM1"},
		AutostartOptions{StartDelay: 30 * time.Second, StartOrder: 1, WaitForHeartbeat: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ch.HostsEnabled, []string{esxHost}) {
		t.Errorf("hosts enabled: %v", ch.HostsEnabled)
	}
	want := []VMAutostartChange{
		{VMAutostart{VM: "ha-host_VM0", Host: esxHost, StartAction: "powerOn", StartDelay: 30, StartOrder: 1, StopAction: "systemDefault", WaitForHeartbeat: "yes"}, true},
		{VMAutostart{VM: "ha-host_VM1", Host: esxHost, StartAction: "powerOn", StartDelay: 30, StartOrder: 2, StopAction: "systemDefault", WaitForHeartbeat: "yes"}, true},
	}
	if !reflect.DeepEqual(ch.VMs, want) {
		t.Errorf("got  %+v\nwant %+v", ch.VMs, want)
	}

	cfg, pi := serverInfo(t, sim, esxHost, "ha-host_VM1")
	if cfg.Defaults == nil || cfg.Defaults.Enabled == nil || !*cfg.Defaults.Enabled {
		t.Fatalf("host autostart not enabled on the server: %+v", cfg.Defaults)
	}
	if cfg.Defaults.StartDelay != 120 || cfg.Defaults.StopAction != "PowerOff" {
		t.Errorf("enabling must keep the host's other defaults: %+v", cfg.Defaults)
	}
	if pi == nil || pi.StartAction != "powerOn" || pi.StartOrder != 2 || pi.StartDelay != 30 || pi.WaitForHeartbeat != "yes" {
		t.Errorf("server holds %+v for ha-host_VM1", pi)
	}

	// Again, without options: nothing to turn on, the order is kept, the
	// delay and heartbeat go back to the host's defaults.
	ch, err = c.EnableAutostart(ctx, []string{"ha-host_VM1"}, AutostartOptions{StartDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.HostsEnabled) != 0 || len(ch.VMs) != 1 || ch.VMs[0].StartOrder != 2 || ch.VMs[0].StartDelay != -1 || !ch.VMs[0].Changed {
		t.Errorf("second enable: %+v", ch)
	}
	ch, err = c.EnableAutostart(ctx, []string{"ha-host_VM1"}, AutostartOptions{StartDelay: -1})
	if err != nil || ch.VMs[0].Changed {
		t.Errorf("same settings again must report no change: %+v, %v", ch, err)
	}
}

func TestAutostartStartOrderPastTheEnd(t *testing.T) {
	sim := startSim(t, "esx")
	c := connectSim(t, sim)
	_, err := c.EnableAutostart(context.Background(), []string{"ha-host_VM0"}, AutostartOptions{StartDelay: -1, StartOrder: 3})
	if fail.KindOf(err) != fail.Usage || err.Error() != "--start-order 3: host localhost.localdomain has 0 other VMs in its start order, so the order can be 1 to 1" {
		t.Fatalf("got %v", err)
	}
	if cfg, pi := serverInfo(t, sim, esxHost, "ha-host_VM0"); pi != nil || (cfg.Defaults.Enabled != nil && *cfg.Defaults.Enabled) {
		t.Errorf("a refused order must change nothing: %+v %+v", cfg.Defaults, pi)
	}
}

func TestAutostartDisable(t *testing.T) {
	sim := startSim(t, "esx")
	c := connectSim(t, sim)
	ctx := context.Background()
	if _, err := c.EnableAutostart(ctx, []string{"ha-host_VM0", "ha-host_VM1"}, AutostartOptions{StartDelay: -1, StartOrder: 1}); err != nil {
		t.Fatal(err)
	}
	ch, err := c.DisableAutostart(ctx, []string{"ha-host_VM0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.HostsEnabled) != 0 || len(ch.VMs) != 1 || ch.VMs[0].StartAction != "none" || !ch.VMs[0].Changed {
		t.Errorf("disable: %+v", ch)
	}
	cfg, pi := serverInfo(t, sim, esxHost, "ha-host_VM0")
	if pi == nil || pi.StartAction != "none" || pi.StartOrder != -1 {
		t.Errorf("server holds %+v for ha-host_VM0", pi)
	}
	if !*cfg.Defaults.Enabled {
		t.Error("disabling a VM must leave the host's autostart on")
	}
	ch, err = c.DisableAutostart(ctx, []string{"ha-host_VM0"})
	if err != nil || ch.VMs[0].Changed {
		t.Errorf("second disable must report no change: %+v, %v", ch, err)
	}

	st, err := c.AutostartStatus(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || !st[0].Enabled || st[0].StartDelay != 120 || st[0].StopAction != "PowerOff" {
		t.Fatalf("status: %+v", st)
	}
	var got []string
	for _, v := range st[0].VMs {
		got = append(got, v.VM+":"+v.StartAction)
	}
	if want := []string{"ha-host_VM1:powerOn", "ha-host_VM0:none"}; !reflect.DeepEqual(got, want) {
		t.Errorf("status VMs in start sequence: got %v, want %v", got, want)
	}
}

func TestAutostartStatusVPX(t *testing.T) {
	sim := startSim(t, "vpx")
	ctx := context.Background()
	if err := sim.DisconnectHost(ctx, "DC1_H0"); err != nil {
		t.Fatal(err)
	}
	c := connectSim(t, sim)
	if _, err := c.EnableAutostart(ctx, []string{"DC0_H0_VM1"}, AutostartOptions{StartDelay: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}

	all, err := c.AutostartStatus(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(sim.Names("HostSystem")) {
		t.Errorf("status of every host: got %d hosts", len(all))
	}
	for _, h := range all {
		if h.Host == "DC1_H0" && (h.ConnectionState != "disconnected" || len(h.VMs) != 0) {
			t.Errorf("disconnected host: %+v", h)
		}
	}

	st, err := c.AutostartStatus(ctx, "DC0_H0")
	if err != nil {
		t.Fatal(err)
	}
	want := []VMAutostart{
		{VM: "DC0_H0_VM1", Host: "DC0_H0", StartAction: "powerOn", StartDelay: 10, StartOrder: -1, StopAction: "systemDefault", WaitForHeartbeat: "systemDefault"},
		{VM: "DC0_H0_VM0", Host: "DC0_H0", StartAction: "none", StartDelay: -1, StartOrder: -1, StopAction: "systemDefault", WaitForHeartbeat: "systemDefault"},
	}
	if len(st) != 1 || !st[0].Enabled || !reflect.DeepEqual(st[0].VMs, want) {
		t.Errorf("got  %+v\nwant %+v", st, want)
	}

	_, err = c.AutostartStatus(ctx, "DC0_H1")
	if err == nil || err.Error() != `host "DC0_H1" not found; did you mean DC0_H0?` {
		t.Errorf("unknown host: got %v", err)
	}
	if st, err := c.AutostartStatus(ctx, "/DC0/host/DC0_C0/DC0_C0_H1"); err != nil || len(st) != 1 || st[0].Host != "DC0_C0_H1" {
		t.Errorf("host by inventory path: %+v, %v", st, err)
	}

	// A VM on the disconnected host: refused before anything changes.
	_, err = c.EnableAutostart(ctx, []string{"DC0_H0_VM0", "DC1_H0_VM0"}, AutostartOptions{StartDelay: -1})
	if err == nil || !strings.Contains(err.Error(), "its host DC1_H0 is not connected") {
		t.Fatalf("got %v", err)
	}
	if _, pi := serverInfo(t, sim, "DC0_H0", "DC0_H0_VM0"); pi != nil {
		t.Errorf("DC0_H0_VM0 changed although the command was refused: %+v", pi)
	}
}

func TestAutostartPermissionDenied(t *testing.T) {
	sim := startSim(t, "esx")
	if err := sim.DenyAutostart(esxHost); err != nil {
		t.Fatal(err)
	}
	c := connectSim(t, sim)
	_, err := c.EnableAutostart(context.Background(), []string{"ha-host_VM0"}, AutostartOptions{StartDelay: -1})
	want := "host localhost.localdomain: changing autostart: permission denied: user grid-admin lacks privilege Host.Config.AutoStart on host localhost.localdomain"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestAutostartPartial(t *testing.T) {
	sim := startSim(t, "vpx")
	if err := sim.DenyAutostart("DC1_H0"); err != nil {
		t.Fatal(err)
	}
	c := connectSim(t, sim)
	ch, err := c.EnableAutostart(context.Background(), []string{"DC0_H0_VM0", "DC1_H0_VM0"}, AutostartOptions{StartDelay: -1})
	if fail.KindOf(err) != fail.Partial || !strings.HasPrefix(err.Error(), "host DC1_H0: changing autostart: permission denied") ||
		!strings.HasSuffix(err.Error(), "(hosts before DC1_H0 were changed)") {
		t.Fatalf("got %v (kind %v)", err, fail.KindOf(err))
	}
	if len(ch.HostsEnabled) != 1 || ch.HostsEnabled[0] != "DC0_H0" || len(ch.VMs) != 1 || ch.VMs[0].VM != "DC0_H0_VM0" {
		t.Errorf("only the first host's changes may be reported: %+v", ch)
	}
	if _, pi := serverInfo(t, sim, "DC0_H0", "DC0_H0_VM0"); pi == nil || pi.StartAction != "powerOn" {
		t.Errorf("DC0_H0_VM0: %+v", pi)
	}
	if _, pi := serverInfo(t, sim, "DC1_H0", "DC1_H0_VM0"); pi != nil {
		t.Errorf("DC1_H0_VM0 changed on the denied host: %+v", pi)
	}
}

// Enabling what is enabled already writes nothing: with writes denied on
// the host, the unchanged enable succeeds and says nothing changed; one
// that would change something is refused.
func TestAutostartEnableWritesOnlyChanges(t *testing.T) {
	sim := startSim(t, "esx")
	c := connectSim(t, sim)
	ctx := context.Background()
	if _, err := c.EnableAutostart(ctx, []string{"ha-host_VM0"}, AutostartOptions{StartDelay: -1}); err != nil {
		t.Fatal(err)
	}
	if err := sim.DenyAutostart(esxHost); err != nil {
		t.Fatal(err)
	}
	ch, err := c.EnableAutostart(ctx, []string{"ha-host_VM0"}, AutostartOptions{StartDelay: -1})
	if err != nil || len(ch.VMs) != 1 || ch.VMs[0].Changed || len(ch.HostsEnabled) != 0 {
		t.Fatalf("unchanged enable: %+v, %v", ch, err)
	}
	if _, err := c.EnableAutostart(ctx, []string{"ha-host_VM1"}, AutostartOptions{StartDelay: -1}); err == nil {
		t.Fatal("a changing enable passed the denied write")
	}
}
