package agent

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/storagegrid/storagegrid/wire"
)

func hostFields(t *testing.T, src Sources) map[string]string {
	t.Helper()
	src.HostID = "h1"
	c, err := newHost(src)
	if err != nil {
		t.Fatal(err)
	}
	items, err := c.Collect(context.Background())
	if err != nil || len(items) != 1 || items[0].Kind != wire.KindHost || items[0].ID != "h1" {
		t.Fatalf("host: %+v %v", items, err)
	}
	return items[0].Fields
}

// TestHostBootIDAndPlacement: the boot id comes from /proc under the root
// (trimmed), and the placement from the settings, each only when known.
func TestHostBootIDAndPlacement(t *testing.T) {
	src := fixture(t)
	f := hostFields(t, src)
	for _, k := range []string{wire.FieldBootID, wire.FieldSite, wire.FieldRoom, wire.FieldRack} {
		if v, ok := f[k]; ok {
			t.Errorf("%s = %q without a source", k, v)
		}
	}
	if f[wire.FieldKernel] == "" {
		t.Errorf("no kernel: %v", f)
	}

	p := filepath.Join(src.Proc, "sys/kernel/random/boot_id")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte("3f2c0a8e-5d1b-4e0c-9a7f-1b2c3d4e5f60\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	src.Placement = Placement{Site: "DC1", Rack: "R12 (row C)"}
	f = hostFields(t, src)
	got := map[string]string{}
	for _, k := range []string{wire.FieldBootID, wire.FieldSite, wire.FieldRoom, wire.FieldRack} {
		if v, ok := f[k]; ok {
			got[k] = v
		}
	}
	want := map[string]string{wire.FieldBootID: "3f2c0a8e-5d1b-4e0c-9a7f-1b2c3d4e5f60", wire.FieldSite: "DC1", wire.FieldRack: "R12 (row C)"}
	if !maps.Equal(got, want) {
		t.Fatalf("host fields %v, want %v", got, want)
	}
}
