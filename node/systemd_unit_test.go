package node

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/storagegrid/storagegrid/internal/unitcheck"
	"github.com/storagegrid/storagegrid/settings"
)

const systemdUnitFile = "../contrib/systemd/" + UnitTemplate

// readUnitKeys reads a unit file into section.key -> values.
func readUnitKeys(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: line %q is not KEY=VALUE", path, line)
			}
			keys[section+"."+k] = append(keys[section+"."+k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestSystemdUnitFile holds the unit to what the runtime and the runbook
// rely on, and keeps out the hardening that would hide block devices.
func TestSystemdUnitFile(t *testing.T) {
	keys := readUnitKeys(t, systemdUnitFile)
	stop := int(settings.Defaults().Runtime.StopTimeout.Seconds())
	for key, want := range map[string]string{
		"Service.ExecStart":      "/usr/bin/storagegrid node run-payload %i",
		"Service.KillMode":       "mixed",
		"Service.TimeoutStopSec": strconv.Itoa(stop),
		"Service.Restart":        "no",
		"Service.Type":           "exec",
	} {
		if got := keys[key]; len(got) != 1 || got[0] != want {
			t.Errorf("%s: %s = %q, want %q", systemdUnitFile, key, got, want)
		}
	}
	for _, key := range []string{"Service.PrivateDevices", "Service.DevicePolicy", "Service.DeviceAllow",
		"Service.ProtectClock", "Service.PrivateNetwork", "Service.User", "Service.DynamicUser"} {
		if v, ok := keys[key]; ok {
			t.Errorf("%s: %s = %q would cut the node off its devices or network", systemdUnitFile, key, v)
		}
	}
}

// TestSystemdUnitVerifies has systemd parse the unit offline: a misspelt
// key or a bad value is only a warning there, so any output fails.
func TestSystemdUnitVerifies(t *testing.T) {
	unitcheck.Verify(t, systemdUnitFile, "/usr/bin/storagegrid", "storagegrid-node@DC1-S3.service")
}
