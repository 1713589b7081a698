//go:build !agentonly

package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/storagegrid/storagegrid/node"
	"github.com/storagegrid/storagegrid/node/systemdtest"
)

// TestSystemdScripts runs the transcripts in testdata/systemd with
// [runtime] kind = "systemd": each script gets its own dbus-daemon with a
// stand-in systemd manager on it, reached through STORAGEGRID_SYSTEMD_BUS.
// The command "systemd" steers the stand-in (see systemdCmd).
func TestSystemdScripts(t *testing.T) {
	if !systemdtest.Available() {
		t.Skip("needs " + systemdtest.DaemonPath + " (Debian package dbus-daemon)")
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/systemd",
		Setup: func(env *testscript.Env) error {
			root := env.WorkDir + "/root"
			env.Setenv("STORAGEGRID_ROOT", root)
			if err := os.MkdirAll(root, 0o755); err != nil {
				return err
			}
			bus, err := systemdtest.StartBus()
			if err != nil {
				return err
			}
			env.Defer(bus.Kill)
			mgr, err := systemdtest.Serve(bus.Address)
			if err != nil {
				return err
			}
			env.Defer(mgr.Close)
			mgr.Install(node.UnitTemplate)
			env.Values["systemd"] = mgr
			env.Setenv("STORAGEGRID_SYSTEMD_BUS", bus.Address)
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){"exits": exits, "systemd": systemdCmd, "devices": devices},
	})
}

// systemdCmd steers the stand-in manager:
//
//	systemd fail-start UNIT    the unit's start jobs fail
//	systemd hang-stop UNIT     stops wait until SIGKILL
//	systemd state UNIT ACTIVE  the unit's ActiveState must be ACTIVE
func systemdCmd(ts *testscript.TestScript, neg bool, args []string) {
	mgr := ts.Value("systemd").(*systemdtest.Manager)
	if neg || len(args) < 2 {
		ts.Fatalf("usage: systemd fail-start|hang-stop|state UNIT [ACTIVE]")
	}
	switch unit := args[1]; args[0] {
	case "fail-start":
		mgr.FailStart(unit)
	case "hang-stop":
		mgr.HangStop(unit)
	case "state":
		if len(args) != 3 {
			ts.Fatalf("usage: systemd state UNIT ACTIVE")
		}
		if active, sub := mgr.State(unit); active != args[2] {
			ts.Fatalf("%s is %s (%s), want %s", unit, active, sub, args[2])
		}
	default:
		ts.Fatalf("systemd: unknown subcommand %q", args[0])
	}
}
