package model

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const modelUnitFile = "../contrib/systemd/storagegrid-model.service"

// TestModelUnitVerifies has systemd parse the model server's unit offline
// (any output fails: a misspelt key is only a warning there) and checks
// the settings the server's behaviour relies on.
func TestModelUnitVerifies(t *testing.T) {
	data, err := os.ReadFile(modelUnitFile)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		"\nType=notify\n", // READY=1 once listening
		"\nWatchdogSec=",  // pinged while the store answers
		"\nExecStart=/usr/bin/storagegrid model serve\n",
		"\nExecReload=/bin/kill -HUP $MAINPID\n", // tokens, certificates, CRLs
		"\nStateDirectory=storagegrid/model\n",   // the SQLite default
		"\nAfter=network-online.target postgresql.service\n",
		"\nProtectSystem=strict\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q", modelUnitFile, strings.TrimSpace(want))
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("needs systemd-analyze (Debian package systemd; .ci/run installs it)")
	}
	// verify checks that ExecStart is executable; the binary is not
	// installed here, so point it at one that is.
	text = strings.ReplaceAll(text, "/usr/bin/storagegrid ", "/bin/true ")
	unit := filepath.Join(t.TempDir(), "storagegrid-model.service")
	if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", modelUnitFile, err, out)
	}
}
