package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const agentUnitFile = "../contrib/systemd/storagegrid-agent.service"

// TestAgentUnitVerifies has systemd parse the agent's unit offline (a
// misspelt key or a bad value is only a warning there, so any output
// fails) and checks the settings the agent's behaviour relies on.
func TestAgentUnitVerifies(t *testing.T) {
	data, err := os.ReadFile(agentUnitFile)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		"\nType=notify\n", // READY=1 after the first snapshot is spooled
		"\nWatchdogSec=",  // the agent pings at half of it
		"\nExecStart=/usr/lib/storagegrid/storagegrid-agent agent run\n",
		"\nStateDirectory=storagegrid/agent\n", // the spool
	} {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q", agentUnitFile, strings.TrimSpace(want))
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("needs systemd-analyze (Debian package systemd)")
	}
	// verify checks that ExecStart is executable; the binary is not
	// installed here, so point it at one that is.
	text = strings.ReplaceAll(text, "/usr/lib/storagegrid/storagegrid-agent ", "/bin/true ")
	unit := filepath.Join(t.TempDir(), "storagegrid-agent.service")
	if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", agentUnitFile, err, out)
	}
}
