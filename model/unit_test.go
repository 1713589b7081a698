package model

import (
	"strings"
	"testing"

	"github.com/storagegrid/storagegrid/internal/unitcheck"
)

const modelUnitFile = "../contrib/systemd/storagegrid-model.service"

// TestModelUnitVerifies has systemd parse the model server's unit offline
// (any output fails: a misspelt key is only a warning there) and checks
// the settings the server's behaviour relies on.
func TestModelUnitVerifies(t *testing.T) {
	text := unitcheck.Verify(t, modelUnitFile, "/usr/bin/storagegrid", "")
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
}
