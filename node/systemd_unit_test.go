package node

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("needs systemd-analyze (Debian package systemd)")
	}
	data, err := os.ReadFile(systemdUnitFile)
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that ExecStart is executable; the binary is not
	// installed here, so point it at one that is.
	data = []byte(strings.ReplaceAll(string(data), "/usr/bin/storagegrid ", "/bin/true "))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, UnitTemplate), data, 0o644); err != nil {
		t.Fatal(err)
	}
	instance := filepath.Join(dir, "storagegrid-node@DC1-S3.service")
	if err := os.Symlink(UnitTemplate, instance); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", instance).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", UnitTemplate, err, out)
	}
}
