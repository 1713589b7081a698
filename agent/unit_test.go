package agent

import (
	"strings"
	"testing"

	"github.com/storagegrid/storagegrid/internal/unitcheck"
)

const agentUnitFile = "../contrib/systemd/storagegrid-agent.service"

// TestAgentUnitVerifies has systemd parse the agent's unit offline (a
// misspelt key or a bad value is only a warning there, so any output
// fails) and checks the settings the agent's behaviour relies on.
func TestAgentUnitVerifies(t *testing.T) {
	text := unitcheck.Verify(t, agentUnitFile, "/usr/lib/storagegrid/storagegrid-agent", "")
	for _, want := range []string{
		"\nType=notify\n", // READY=1 after the first snapshot is spooled
		"\nWatchdogSec=",  // the agent pings at half of it
		"\nExecStart=/usr/lib/storagegrid/storagegrid-agent agent run\n",
		"\nStateDirectory=storagegrid/agent\n",                                      // the spool
		"\nCapabilityBoundingSet=CAP_NET_RAW\n",                                     // LLDP frames
		"\nRestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6 AF_PACKET\n", // AF_PACKET: LLDP
	} {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q", agentUnitFile, strings.TrimSpace(want))
		}
	}
}
