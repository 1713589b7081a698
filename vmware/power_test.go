package vmware

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/vmware/vcsim"
)

func powerState(t *testing.T, sim *vcsim.Sim, vm string) types.VirtualMachinePowerState {
	t.Helper()
	st, err := sim.PowerState(context.Background(), vm)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func mustPowerOff(t *testing.T, sim *vcsim.Sim, vms ...string) {
	t.Helper()
	for _, vm := range vms {
		if err := sim.PowerOff(context.Background(), vm); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPowerOnESX(t *testing.T) {
	sim := startSim(t, "esx")
	c := connectSim(t, sim)
	mustPowerOff(t, sim, "ha-host_VM0")

	res, err := c.PowerOn(context.Background(), []string{"ha-host_VM0", "ha-host_VM1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []PowerResult{
		{VM: "ha-host_VM0", Host: "localhost.localdomain", Result: PoweredOn},
		{VM: "ha-host_VM1", Host: "localhost.localdomain", Result: AlreadyOn},
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("got %+v\nwant %+v", res, want)
	}
	if st := powerState(t, sim, "ha-host_VM0"); st != types.VirtualMachinePowerStatePoweredOn {
		t.Errorf("ha-host_VM0 is %s after power-on", st)
	}
}

func TestPowerOnByInventoryPath(t *testing.T) {
	sim := startSim(t, "vpx")
	c := connectSim(t, sim)
	mustPowerOff(t, sim, "DC1_C0_RP0_VM1")

	for _, path := range []string{"/DC1/vm/DC1_C0_RP0_VM1", "DC1/vm/DC1_C0_RP0_VM1/"} {
		res, err := c.PowerOn(context.Background(), []string{path})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(res) != 1 || res[0].VM != "DC1_C0_RP0_VM1" {
			t.Errorf("%s: got %+v", path, res)
		}
	}
	if st := powerState(t, sim, "DC1_C0_RP0_VM1"); st != types.VirtualMachinePowerStatePoweredOn {
		t.Errorf("DC1_C0_RP0_VM1 is %s", st)
	}
}

func TestPowerOnNotFoundChangesNothing(t *testing.T) {
	sim := startSim(t, "vpx")
	c := connectSim(t, sim)
	mustPowerOff(t, sim, "DC0_H0_VM0")

	_, err := c.PowerOn(context.Background(), []string{"DC0_H0_VM0", "dc0_h0_vm9"})
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("got %v, want NotFoundError", err)
	}
	if want := `VM "dc0_h0_vm9" not found; did you mean DC0_H0_VM0 or DC0_H0_VM1?`; err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if st := powerState(t, sim, "DC0_H0_VM0"); st != types.VirtualMachinePowerStatePoweredOff {
		t.Errorf("a bad name must change nothing, but DC0_H0_VM0 is %s", st)
	}

	_, err = c.PowerOn(context.Background(), []string{"/DC0/vm/DC0_H0_VMX"})
	if want := `VM "/DC0/vm/DC0_H0_VMX" not found; did you mean /DC0/vm/DC0_H0_VM0 or /DC0/vm/DC0_H0_VM1?`; err == nil || err.Error() != want {
		t.Errorf("path: got  %v\nwant %s", err, want)
	}

	_, err = c.PowerOn(context.Background(), []string{"zzzzzzzz"})
	if want := `VM "zzzzzzzz" not found`; err == nil || err.Error() != want {
		t.Errorf("nothing close: got %v, want %s", err, want)
	}
}

func TestPowerOnAmbiguous(t *testing.T) {
	sim := startSim(t, "vpx")
	ctx := context.Background()
	if err := sim.Rename(ctx, "DC1_H0_VM0", "DC0_H0_VM0"); err != nil {
		t.Fatal(err)
	}
	c := connectSim(t, sim)
	_, err := c.PowerOn(ctx, []string{"DC0_H0_VM0"})
	want := `VM name "DC0_H0_VM0" is ambiguous: it matches /DC0/vm/DC0_H0_VM0, /DC1/vm/DC0_H0_VM0; give the inventory path instead`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	if _, err := c.PowerOn(ctx, []string{"/DC1/vm/DC0_H0_VM0"}); err != nil {
		t.Errorf("the inventory path must resolve: %v", err)
	}
}

func TestPowerOnHostDisconnected(t *testing.T) {
	sim := startSim(t, "vpx")
	ctx := context.Background()
	mustPowerOff(t, sim, "DC0_H0_VM0", "DC0_C0_RP0_VM0")
	if err := sim.DisconnectHost(ctx, "DC0_H0"); err != nil {
		t.Fatal(err)
	}
	c := connectSim(t, sim)

	_, err := c.PowerOn(ctx, []string{"DC0_H0_VM0"})
	var hd *HostDisconnectedError
	if !errors.As(err, &hd) || err.Error() != "VM DC0_H0_VM0: its host DC0_H0 is not connected to vSphere (connection state disconnected)" {
		t.Fatalf("got %v", err)
	}
	if fail.KindOf(err) != fail.Failed {
		t.Errorf("one VM failing: kind %v, want failed", fail.KindOf(err))
	}

	// Another VM, on a connected host, is still powered on: partial.
	res, err := c.PowerOn(ctx, []string{"DC0_H0_VM0", "DC0_C0_RP0_VM0"})
	if fail.KindOf(err) != fail.Partial || !strings.HasPrefix(err.Error(), "1 of 2 VMs not powered on: VM DC0_H0_VM0: its host DC0_H0") {
		t.Fatalf("got %v (kind %v)", err, fail.KindOf(err))
	}
	if len(res) != 2 || res[0].Result != Failed || res[1].Result != PoweredOn {
		t.Errorf("results %+v", res)
	}
	if st := powerState(t, sim, "DC0_C0_RP0_VM0"); st != types.VirtualMachinePowerStatePoweredOn {
		t.Errorf("DC0_C0_RP0_VM0 is %s", st)
	}
}

func TestPowerOnPermissionDenied(t *testing.T) {
	sim := startSim(t, "esx")
	mustPowerOff(t, sim, "ha-host_VM1")
	if err := sim.Deny("PowerOnVM_Task", "VirtualMachine", "ha-host_VM1", "VirtualMachine.Interact.PowerOn"); err != nil {
		t.Fatal(err)
	}
	c := connectSim(t, sim)
	res, err := c.PowerOn(context.Background(), []string{"ha-host_VM1"})
	var pe *PermissionError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want PermissionError", err)
	}
	if want := "permission denied: user grid-admin lacks privilege VirtualMachine.Interact.PowerOn on VM ha-host_VM1"; err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if len(res) != 1 || res[0].Result != Failed || res[0].Error != err.Error() {
		t.Errorf("results %+v", res)
	}
	if st := powerState(t, sim, "ha-host_VM1"); st != types.VirtualMachinePowerStatePoweredOff {
		t.Errorf("denied VM is %s", st)
	}
}

func TestPowerOnTemplate(t *testing.T) {
	sim := startSim(t, "esx")
	c := connectSim(t, sim)
	inv, err := c.inventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inv.vms[0].template = true
	_, err = c.findVMs(context.Background(), inv, []string{inv.vms[0].name})
	if err == nil || !strings.Contains(err.Error(), "is a VM template, not a VM") {
		t.Errorf("got %v", err)
	}
}
