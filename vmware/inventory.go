package vmware

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// vmInfo is what the commands need to know about a VM.
type vmInfo struct {
	ref      types.ManagedObjectReference
	name     string
	power    types.VirtualMachinePowerState
	host     *types.ManagedObjectReference
	template bool
}

// hostInfo is what the commands need to know about a host.
type hostInfo struct {
	ref       types.ManagedObjectReference
	name      string
	state     types.HostSystemConnectionState
	autostart *types.ManagedObjectReference // its HostAutoStartManager
}

// inventory is one snapshot of all VMs and hosts, taken with two
// property-collector calls however large the inventory is.
type inventory struct {
	vms   []vmInfo
	hosts map[types.ManagedObjectReference]*hostInfo
}

func (c *Client) inventory(ctx context.Context) (*inventory, error) {
	m := view.NewManager(c.vc)
	v, err := m.CreateContainerView(ctx, c.vc.ServiceContent.RootFolder, []string{"VirtualMachine", "HostSystem"}, true)
	if err != nil {
		return nil, fmt.Errorf("listing the inventory: %w", err)
	}
	defer func() { _ = v.Destroy(context.WithoutCancel(ctx)) }()

	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "runtime.powerState", "runtime.host", "config.template"}, &vms); err != nil {
		return nil, fmt.Errorf("listing VMs: %w", err)
	}
	var hosts []mo.HostSystem
	if err := v.Retrieve(ctx, []string{"HostSystem"}, []string{"name", "runtime.connectionState", "configManager.autoStartManager"}, &hosts); err != nil {
		return nil, fmt.Errorf("listing hosts: %w", err)
	}
	inv := &inventory{hosts: make(map[types.ManagedObjectReference]*hostInfo, len(hosts))}
	for _, vm := range vms {
		inv.vms = append(inv.vms, vmInfo{
			ref:      vm.Self,
			name:     vm.Name,
			power:    vm.Runtime.PowerState,
			host:     vm.Runtime.Host,
			template: vm.Config != nil && vm.Config.Template,
		})
	}
	sort.Slice(inv.vms, func(i, j int) bool { return inv.vms[i].name < inv.vms[j].name })
	for _, h := range hosts {
		inv.hosts[h.Self] = &hostInfo{ref: h.Self, name: h.Name, state: h.Runtime.ConnectionState, autostart: h.ConfigManager.AutoStartManager}
	}
	return inv, nil
}

// hostOf returns the VM's host, or an error saying why it cannot be used.
func (inv *inventory) hostOf(vm *vmInfo) (*hostInfo, error) {
	if vm.host == nil || inv.hosts[*vm.host] == nil {
		return nil, fmt.Errorf("VM %s has no host (it may be orphaned or inaccessible)", vm.name)
	}
	h := inv.hosts[*vm.host]
	if h.state != types.HostSystemConnectionStateConnected {
		return h, &HostDisconnectedError{Host: h.name, State: string(h.state), VM: vm.name}
	}
	return h, nil
}

// name turns a reference into the name of the VM or host it refers to,
// for messages.
func (inv *inventory) name(ref types.ManagedObjectReference) string {
	if h := inv.hosts[ref]; h != nil {
		return "host " + h.name
	}
	for i := range inv.vms {
		if inv.vms[i].ref == ref {
			return "VM " + inv.vms[i].name
		}
	}
	return ref.String()
}

// findVMs resolves every argument before anything is changed; the first
// that does not resolve to exactly one VM is the error.
func (c *Client) findVMs(ctx context.Context, inv *inventory, args []string) ([]*vmInfo, error) {
	out := make([]*vmInfo, 0, len(args))
	seen := map[types.ManagedObjectReference]bool{}
	for _, arg := range args {
		vm, err := c.findVM(ctx, inv, arg)
		if err != nil {
			return nil, err
		}
		if vm.template {
			return nil, fmt.Errorf("%s is a VM template, not a VM: it cannot be powered on or started with its host", vm.name)
		}
		if !seen[vm.ref] {
			seen[vm.ref] = true
			out = append(out, vm)
		}
	}
	return out, nil
}

// findVM resolves a name or an inventory path (anything with a "/").
func (c *Client) findVM(ctx context.Context, inv *inventory, arg string) (*vmInfo, error) {
	if strings.Contains(arg, "/") {
		p := "/" + strings.Trim(arg, "/")
		ref, err := object.NewSearchIndex(c.vc).FindByInventoryPath(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("looking up %s: %w", p, err)
		}
		if ref != nil {
			for i := range inv.vms {
				if inv.vms[i].ref == ref.Reference() {
					return &inv.vms[i], nil
				}
			}
		}
		base := p[strings.LastIndex(p, "/")+1:]
		return nil, &NotFoundError{Kind: "VM", Name: p, Suggestions: c.paths(ctx, inv.closeVMs(base))}
	}
	var matches []*vmInfo
	for i := range inv.vms {
		if inv.vms[i].name == arg {
			matches = append(matches, &inv.vms[i])
		}
	}
	switch len(matches) {
	case 0:
		var names []string
		for _, vm := range inv.closeVMs(arg) {
			names = append(names, vm.name)
		}
		return nil, &NotFoundError{Kind: "VM", Name: arg, Suggestions: names}
	case 1:
		return matches[0], nil
	}
	return nil, &AmbiguousError{Kind: "VM", Name: arg, Paths: c.paths(ctx, matches)}
}

// closeVMs returns up to three VMs whose names are closest to name.
func (inv *inventory) closeVMs(name string) []*vmInfo {
	names := make([]string, len(inv.vms))
	for i := range inv.vms {
		names[i] = inv.vms[i].name
	}
	var out []*vmInfo
	for _, i := range closest(name, names, 3) {
		out = append(out, &inv.vms[i])
	}
	return out
}

// paths returns the VMs' inventory paths (their names when a path cannot
// be read), for messages.
func (c *Client) paths(ctx context.Context, vms []*vmInfo) []string {
	out := make([]string, 0, len(vms))
	for _, vm := range vms {
		p, err := find.InventoryPath(ctx, c.vc, vm.ref)
		if err != nil || p == "" {
			p = vm.name
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// findHost resolves a host name (or inventory path) to a host.
func (c *Client) findHost(ctx context.Context, inv *inventory, arg string) (*hostInfo, error) {
	var names []string
	for _, h := range inv.hosts {
		if h.name == arg {
			return h, nil
		}
		names = append(names, h.name)
	}
	if strings.Contains(arg, "/") {
		ref, err := object.NewSearchIndex(c.vc).FindByInventoryPath(ctx, "/"+strings.Trim(arg, "/"))
		if err != nil {
			return nil, fmt.Errorf("looking up %s: %w", arg, err)
		}
		if ref != nil && inv.hosts[ref.Reference()] != nil {
			return inv.hosts[ref.Reference()], nil
		}
	}
	sort.Strings(names)
	var close []string
	for _, i := range closest(arg, names, 3) {
		close = append(close, names[i])
	}
	return nil, &NotFoundError{Kind: "host", Name: arg, Suggestions: close}
}

// autostartConfigs reads the autostart configuration of the hosts in one
// call, keyed by host.
func (c *Client) autostartConfigs(ctx context.Context, hosts []*hostInfo) (map[types.ManagedObjectReference]types.HostAutoStartManagerConfig, error) {
	var refs []types.ManagedObjectReference
	owner := map[types.ManagedObjectReference]types.ManagedObjectReference{}
	for _, h := range hosts {
		if h.autostart == nil {
			return nil, fmt.Errorf("host %s has no autostart manager (is it an ESXi host?)", h.name)
		}
		refs = append(refs, *h.autostart)
		owner[*h.autostart] = h.ref
	}
	out := map[types.ManagedObjectReference]types.HostAutoStartManagerConfig{}
	if len(refs) == 0 {
		return out, nil
	}
	var mgrs []mo.HostAutoStartManager
	if err := c.pc().Retrieve(ctx, refs, []string{"config"}, &mgrs); err != nil {
		return nil, fmt.Errorf("reading autostart configuration: %w", err)
	}
	for _, m := range mgrs {
		out[owner[m.Self]] = m.Config
	}
	return out, nil
}
