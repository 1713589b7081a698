package finding

import (
	"encoding/json"
	"testing"
)

func TestText(t *testing.T) {
	for _, tc := range []struct {
		f    Finding
		want string
	}{
		{Errorf("GRID_NETWORK_TARGET", "bond0.1001", "%s is not a valid interface.  See `ip link show`", "bond0.1001"),
			"  ERROR: GRID_NETWORK_TARGET = bond0.1001\n" +
				"         bond0.1001 is not a valid interface.  See `ip link show`\n"},
		{Warningf("CLIENT_NETWORK_TARGET", "adm0", "adm0 is down"),
			"  WARNING: CLIENT_NETWORK_TARGET = adm0\n" +
				"           adm0 is down\n"},
		{Errorf("BLOCK_DEVICE_VAR_LOCAL", "", "BLOCK_DEVICE_VAR_LOCAL is required but missing"),
			"  ERROR: BLOCK_DEVICE_VAR_LOCAL\n" +
				"         BLOCK_DEVICE_VAR_LOCAL is required but missing\n"},
		{Finding{Severity: Warning, Message: "ignoring /etc/storagegrid/nodes/my-file.txt"},
			"  WARNING: ignoring /etc/storagegrid/nodes/my-file.txt\n"},
	} {
		if got := tc.f.Text(); got != tc.want {
			t.Errorf("Text() =\n%q\nwant\n%q", got, tc.want)
		}
	}
}

func TestHasErrors(t *testing.T) {
	warn := Warningf("K", "v", "look")
	if HasErrors(nil) || HasErrors([]Finding{warn}) {
		t.Fatal("warnings alone are not errors")
	}
	if !HasErrors([]Finding{warn, Errorf("K", "v", "broken")}) {
		t.Fatal("an error was missed")
	}
}

// Scripts read the same fields from every command that reports findings:
// key and value are always there, node and host only when set.
func TestJSONFields(t *testing.T) {
	b, err := json.Marshal(Errorf("GRID_NETWORK_TARGET", "", "no target"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"severity":"error","key":"GRID_NETWORK_TARGET","value":"","message":"no target"}`
	if string(b) != want {
		t.Fatalf("JSON = %s, want %s", b, want)
	}
}
