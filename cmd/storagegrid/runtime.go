package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/node"
	"github.com/storagegrid/storagegrid/settings"
)

// systemdBusEnv names the D-Bus address the systemd runtime uses instead
// of the system bus. For tests and sandboxes that serve a stand-in systemd
// manager; on a real host leave it unset.
const systemdBusEnv = "STORAGEGRID_SYSTEMD_BUS"

// newRuntime picks the runtime named by runtime.kind.
func (g *globals) newRuntime(s *settings.Settings) (node.Runtime, error) {
	switch runtimeKind(g.root, s.Runtime.Kind) {
	case "systemd":
		bus := os.Getenv(systemdBusEnv)
		if bus == "" && g.root != "/" {
			// The nodes under --root are not this machine's, but its
			// systemd would be asked to start and stop them.
			return nil, fail.Refusedf("runtime.kind = \"systemd\" with --root %s would drive this machine's systemd; "+
				"set %s to a stand-in manager's bus, or use runtime.kind = \"process\"", g.root, systemdBusEnv)
		}
		return node.NewSystemd(bus), nil
	default:
		sup, err := g.selfCommand("node", "supervise")
		if err != nil {
			return nil, err
		}
		return node.NewProcess(node.ProcessConfig{Root: g.root, Supervisor: sup}), nil
	}
}

// runtimeKind resolves an empty runtime.kind: systemd when the real host
// was booted with systemd, process otherwise (and always in a sandbox root).
func runtimeKind(root hostpath.Root, kind string) string {
	if kind != "" {
		return kind
	}
	if root == "/" {
		if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
			return "systemd"
		}
	}
	return "process"
}

// selfCommand is this binary with the global flags that locate the host
// (--root, --config) followed by args, for the processes the process
// runtime re-executes: the supervisor and the demo payload.
func (g *globals) selfCommand(args ...string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	cmd := []string{exe, "--root", string(g.root)}
	if g.configPath != "" {
		abs, err := filepath.Abs(g.configPath)
		if err != nil {
			return nil, fail.Usagef("--config: %v", err)
		}
		cmd = append(cmd, "--config", abs)
	}
	return append(cmd, args...), nil
}
