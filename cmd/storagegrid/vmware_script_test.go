//go:build !agentonly

package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/storagegrid/storagegrid/vmware/vcsim"
)

// sims holds each transcript's simulator; a transcript runs its commands
// in order, but transcripts run in parallel.
var sims sync.Map // *testscript.TestScript -> *vcsim.Sim

// vcsimCmd runs govmomi's vSphere simulator inside the test process for
// the vmware_*.txtar transcripts (the storagegrid under test is a
// subprocess and connects over TLS on 127.0.0.1). The simulator has no
// HostAutoStartManager; package vcsim registers one (its config property
// and ReconfigureAutostart) in the simulator's object map, so the client
// code runs unchanged against it.
//
//	vcsim start esx|vpx          serve a model; sets VCSIM_URL (no user info),
//	                             VCSIM_USERINFO_URL (with user and password),
//	                             VCSIM_USERNAME, VCSIM_PASSWORD, VCSIM_THUMBPRINT
//	vcsim poweroff VM            power a VM off
//	vcsim state VM               print its power state
//	vcsim disconnect HOST        disconnect a host (as vCenter does when it loses it)
//	vcsim rename VM NAME         rename a VM
//	vcsim deny METHOD VM PRIV    fail METHOD on VM with NoPermission for PRIV
//	vcsim deny-autostart HOST    fail autostart changes on HOST with NoPermission
//	vcsim subst SRC DST          copy SRC to DST expanding $VARS (settings files)
func vcsimCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: vcsim start|poweroff|state|disconnect|rename|deny|deny-autostart|subst ARGS...")
	}
	ctx := context.Background()
	if args[0] == "start" {
		vcsimStart(ts, args)
		return
	}
	if args[0] == "subst" {
		if len(args) != 3 {
			ts.Fatalf("usage: vcsim subst SRC DST")
		}
		data := os.Expand(ts.ReadFile(args[1]), ts.Getenv)
		ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(data), 0o644))
		return
	}
	v, ok := sims.Load(ts)
	if !ok {
		ts.Fatalf("vcsim %s: run 'vcsim start' first", args[0])
	}
	sim := v.(*vcsim.Sim)
	var err error
	switch {
	case args[0] == "poweroff" && len(args) == 2:
		err = sim.PowerOff(ctx, args[1])
	case args[0] == "state" && len(args) == 2:
		st, serr := sim.PowerState(ctx, args[1])
		fmt.Fprintln(ts.Stdout(), st)
		err = serr
	case args[0] == "disconnect" && len(args) == 2:
		err = sim.DisconnectHost(ctx, args[1])
	case args[0] == "rename" && len(args) == 3:
		err = sim.Rename(ctx, args[1], args[2])
	case args[0] == "deny" && len(args) == 4:
		err = sim.Deny(args[1], "VirtualMachine", args[2], args[3])
	case args[0] == "deny-autostart" && len(args) == 2:
		err = sim.DenyAutostart(args[1])
	default:
		ts.Fatalf("vcsim: bad arguments %q", args)
	}
	ts.Check(err)
}

func vcsimStart(ts *testscript.TestScript, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: vcsim start esx|vpx")
	}
	if _, ok := sims.Load(ts); ok {
		ts.Fatalf("vcsim: already started")
	}
	sim, err := vcsim.Start(context.Background(), args[1])
	ts.Check(err)
	sims.Store(ts, sim)
	ts.Defer(func() {
		sims.Delete(ts)
		sim.Close()
	})
	u, err := url.Parse(sim.URL)
	ts.Check(err)
	u.User = url.UserPassword(vcsim.Username, vcsim.Password)
	ts.Setenv("VCSIM_URL", sim.URL)
	ts.Setenv("VCSIM_USERINFO_URL", u.String())
	ts.Setenv("VCSIM_USERNAME", vcsim.Username)
	ts.Setenv("VCSIM_PASSWORD", vcsim.Password)
	ts.Setenv("VCSIM_THUMBPRINT", sim.Thumbprint)
}
