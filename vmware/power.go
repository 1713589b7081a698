package vmware

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// What happened to a VM.
const (
	PoweredOn = "powered_on"
	AlreadyOn = "already_on"
	Failed    = "failed"
)

// PowerResult is what power-on did to one VM.
type PowerResult struct {
	VM     string `json:"vm"`
	Host   string `json:"host,omitempty"`
	Result string `json:"result"` // powered_on, already_on or failed
	Error  string `json:"error,omitempty"`
}

// PowerOn powers on each VM (by name or inventory path) and waits for
// each task. A VM that is already on is not an error. Every name is
// resolved first, so a bad one changes nothing; after that each VM is
// tried, and the error says which failed (fail.Partial when some did not).
func (c *Client) PowerOn(ctx context.Context, args []string) ([]PowerResult, error) {
	res, err := c.powerOn(ctx, args)
	for i := range res {
		if res[i].Error != "" {
			res[i].Error = c.finish(errors.New(res[i].Error), "powering on").Error()
		}
	}
	return res, c.finish(err, "powering on")
}

func (c *Client) powerOn(ctx context.Context, args []string) ([]PowerResult, error) {
	inv, err := c.inventory(ctx)
	if err != nil {
		return nil, c.explain(err, inv, nil)
	}
	vms, err := c.findVMs(ctx, inv, args)
	if err != nil {
		return nil, c.explain(err, inv, nil)
	}
	var out []PowerResult
	var failures []error
	for _, vm := range vms {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		r, err := c.powerOnVM(ctx, inv, vm)
		if err != nil {
			r.Result, r.Error = Failed, err.Error()
			failures = append(failures, err)
		}
		out = append(out, r)
	}
	return out, summarize("powered on", len(vms), failures)
}

func (c *Client) powerOnVM(ctx context.Context, inv *inventory, vm *vmInfo) (PowerResult, error) {
	r := PowerResult{VM: vm.name}
	host, err := inv.hostOf(vm)
	if host != nil {
		r.Host = host.name
	}
	if err != nil {
		return r, err
	}
	if vm.power == types.VirtualMachinePowerStatePoweredOn {
		r.Result = AlreadyOn
		return r, nil
	}
	task, err := object.NewVirtualMachine(c.vc, vm.ref).PowerOn(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	var ips *types.InvalidPowerState
	if _, ok := fault.As(err, &ips); ok && ips.ExistingState == types.VirtualMachinePowerStatePoweredOn {
		r.Result = AlreadyOn // powered on by someone else since the inventory was read
		return r, nil
	}
	if err != nil {
		return r, c.explain(err, inv, vm)
	}
	r.Result = PoweredOn
	return r, nil
}

// explain turns the vSphere faults the commands expect into their own
// one-line errors, naming vm when the error concerns one (vm may be nil).
func (c *Client) explain(err error, inv *inventory, vm *vmInfo) error {
	if err == nil {
		return nil
	}
	if fault.Is(err, &types.NotAuthenticated{}) {
		return fmt.Errorf("not authenticated to %s: the session ended; run the command again", c.host)
	}
	name := func(ref types.ManagedObjectReference) string { return ref.String() }
	if inv != nil {
		name = inv.name
	}
	if pe, ok := permissionError(err, c.cfg.Username, name); ok {
		return pe
	}
	if vm == nil {
		return err
	}
	if fault.Is(err, &types.HostNotConnected{}) || fault.Is(err, &types.InvalidHostConnectionState{}) {
		hd := &HostDisconnectedError{Host: "(unknown)", VM: vm.name}
		if vm.host != nil && inv.hosts[*vm.host] != nil {
			hd.Host = inv.hosts[*vm.host].name
		}
		return hd
	}
	return fmt.Errorf("VM %s: %w", vm.name, err)
}

// summarize turns per-VM failures into one error: the failure itself for
// one VM, fail.Partial when others succeeded.
func summarize(done string, total int, failures []error) error {
	if len(failures) == 0 {
		return nil
	}
	if total == 1 {
		return failures[0]
	}
	msgs := make([]string, len(failures))
	for i, f := range failures {
		msgs[i] = f.Error()
	}
	if len(failures) == total {
		return fmt.Errorf("no VM %s: %s", done, strings.Join(msgs, "; "))
	}
	return fail.Partialf("%d of %d VMs not %s: %s", len(failures), total, done, strings.Join(msgs, "; "))
}

func (c *Client) pc() *property.Collector { return property.DefaultCollector(c.vc) }
