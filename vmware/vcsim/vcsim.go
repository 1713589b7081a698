// Package vcsim runs govmomi's vSphere simulator for the tests of the
// vmware package and of the CLI transcripts: an ESX or vCenter inventory
// served over TLS on 127.0.0.1, with a required user name and password,
// the HostAutoStartManager the simulator lacks, and
// helpers that change the inventory the way an operator or a failure would
// (power a VM off, disconnect a host, rename a VM, deny a privilege).
//
// It is test support only: nothing in the storagegrid binary imports it.
package vcsim

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"sync/atomic"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// The login the simulator accepts; any other is refused with InvalidLogin.
const (
	Username = "grid-admin"
	Password = "pa55:w@rd/secret" // characters that need escaping in a URL
)

// Sim is a running simulator.
type Sim struct {
	URL        string // https://127.0.0.1:PORT/sdk, without user info
	Thumbprint string // SHA-1 thumbprint of the server's certificate

	model  *simulator.Model
	server *simulator.Server
	admin  *govmomi.Client
	calls  atomic.Int64
}

// Calls is the number of SOAP calls the server has answered.
func (s *Sim) Calls() int64 { return s.calls.Load() }

// Start creates the "esx" (one standalone host) or "vpx" (vCenter with two
// datacenters, each with a standalone host and a three-host cluster)
// inventory and serves it. Every VM starts powered on. tune may change the
// model's sizes before it is created.
func Start(ctx context.Context, kind string, tune ...func(*simulator.Model)) (*Sim, error) {
	return start(ctx, kind, true, tune)
}

// StartStock is Start without the HostAutoStartManager: govmomi's
// simulator as it ships, as vCenters that deny the autostart manager to a
// role look to the client.
func StartStock(ctx context.Context, kind string, tune ...func(*simulator.Model)) (*Sim, error) {
	return start(ctx, kind, false, tune)
}

func start(ctx context.Context, kind string, autostart bool, tune []func(*simulator.Model)) (*Sim, error) {
	var m *simulator.Model
	switch kind {
	case "esx":
		m = simulator.ESX()
	case "vpx":
		m = simulator.VPX()
		m.Datacenter = 2 // equal VM names in two folders make ambiguous names
	default:
		return nil, fmt.Errorf("vcsim: unknown model %q (want esx or vpx)", kind)
	}
	for _, f := range tune {
		f(m)
	}
	if err := m.Create(); err != nil {
		return nil, fmt.Errorf("vcsim: %w", err)
	}
	if autostart {
		installAutoStart(m)
	}
	s := &Sim{model: m}
	m.Map().Handler = func(*simulator.Context, *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		s.calls.Add(1)
		return nil, nil
	}
	m.Service.TLS = new(tls.Config)
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(Username, Password)}
	s.server = m.Service.NewServer()
	u := *s.server.URL
	u.User = nil
	s.URL = u.String()
	s.Thumbprint = soap.ThumbprintSHA1(s.server.Certificate())
	admin, err := govmomi.NewClient(ctx, s.server.URL, true)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("vcsim: admin login: %w", err)
	}
	s.admin = admin
	return s, nil
}

// Close stops the server and removes the model's temporary files.
func (s *Sim) Close() {
	if s.admin != nil {
		_ = s.admin.Logout(context.Background())
	}
	s.server.Close()
	s.model.Remove()
}

// Ref returns the reference of the one entity of kind (VirtualMachine,
// HostSystem) named name.
func (s *Sim) Ref(kind, name string) (types.ManagedObjectReference, error) {
	var refs []types.ManagedObjectReference
	for _, e := range s.model.Map().All(kind) {
		if e.Entity().Name == name {
			refs = append(refs, e.Reference())
		}
	}
	if len(refs) != 1 {
		return types.ManagedObjectReference{}, fmt.Errorf("vcsim: %d %s objects named %q, want one", len(refs), kind, name)
	}
	return refs[0], nil
}

// Names lists the names of all entities of kind.
func (s *Sim) Names(kind string) []string {
	var names []string
	for _, e := range s.model.Map().All(kind) {
		names = append(names, e.Entity().Name)
	}
	return names
}

// PowerOff powers the VM off through the API.
func (s *Sim) PowerOff(ctx context.Context, vm string) error {
	ref, err := s.Ref("VirtualMachine", vm)
	if err != nil {
		return err
	}
	task, err := object.NewVirtualMachine(s.admin.Client, ref).PowerOff(ctx)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

// PowerState reads the VM's power state through the API.
func (s *Sim) PowerState(ctx context.Context, vm string) (types.VirtualMachinePowerState, error) {
	ref, err := s.Ref("VirtualMachine", vm)
	if err != nil {
		return "", err
	}
	return object.NewVirtualMachine(s.admin.Client, ref).PowerState(ctx)
}

// DisconnectHost disconnects the host, as vCenter does when it loses it.
func (s *Sim) DisconnectHost(ctx context.Context, host string) error {
	ref, err := s.Ref("HostSystem", host)
	if err != nil {
		return err
	}
	task, err := object.NewHostSystem(s.admin.Client, ref).Disconnect(ctx)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

// Rename renames a VM through the API (vCenter allows equal names in
// different folders, which is how ambiguous names arise).
func (s *Sim) Rename(ctx context.Context, vm, name string) error {
	ref, err := s.Ref("VirtualMachine", vm)
	if err != nil {
		return err
	}
	task, err := object.NewVirtualMachine(s.admin.Client, ref).Rename(ctx, name)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

// Deny makes every call of method on the entity named object fail with a
// NoPermission fault naming privilege, as vCenter answers a user whose
// role lacks it. The simulator grants every user the Admin role, so its
// fault injector stands in for a restricted role.
func (s *Sim) Deny(method, kind, object, privilege string) error {
	ref, err := s.Ref(kind, object)
	if err != nil {
		return err
	}
	s.model.Service.AddFaultRule(&simulator.FaultInjectionRule{
		MethodName:  method,
		ObjectType:  kind,
		ObjectName:  object,
		Probability: 1,
		FaultType:   simulator.FaultTypeCustom,
		Fault:       &types.NoPermission{Object: &ref, PrivilegeId: privilege},
		Message:     "Permission to perform this operation was denied.",
		Enabled:     true,
	})
	return nil
}

// DenyAutostart makes ReconfigureAutostart on the host's autostart manager
// fail with NoPermission for Host.Config.AutoStart on the host.
func (s *Sim) DenyAutostart(host string) error {
	ref, err := s.Ref("HostSystem", host)
	if err != nil {
		return err
	}
	mgr := *s.model.Map().Get(ref).(*simulator.HostSystem).ConfigManager.AutoStartManager
	s.model.Service.AddFaultRule(&simulator.FaultInjectionRule{
		MethodName:              "ReconfigureAutostart",
		ObjectType:              "HostAutoStartManager",
		ObjectName:              "*",
		InclusionPropertyFilter: func(obj mo.Reference) bool { return obj.Reference() == mgr },
		Probability:             1,
		FaultType:               simulator.FaultTypeCustom,
		Fault:                   &types.NoPermission{Object: &ref, PrivilegeId: "Host.Config.AutoStart"},
		Message:                 "Permission to perform this operation was denied.",
		Enabled:                 true,
	})
	return nil
}

// AutoStart reads the host's autostart configuration through the API.
func (s *Sim) AutoStart(ctx context.Context, host string) (types.HostAutoStartManagerConfig, error) {
	ref, err := s.Ref("HostSystem", host)
	if err != nil {
		return types.HostAutoStartManagerConfig{}, err
	}
	var h mo.HostSystem
	pc := s.admin.PropertyCollector()
	if err := pc.RetrieveOne(ctx, ref, []string{"configManager.autoStartManager"}, &h); err != nil {
		return types.HostAutoStartManagerConfig{}, err
	}
	var m mo.HostAutoStartManager
	if err := pc.RetrieveOne(ctx, *h.ConfigManager.AutoStartManager, []string{"config"}, &m); err != nil {
		return types.HostAutoStartManagerConfig{}, err
	}
	return m.Config, nil
}
