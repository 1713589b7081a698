package agent

import (
	"fmt"
	"testing"

	"github.com/storagegrid/storagegrid/wire"
)

func link(name, mtu string) Item {
	return Item{Kind: wire.KindLink, ID: name, Fields: map[string]string{"mtu": mtu, "type": "veth"}}
}

func describe(evs []wire.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprintf("%d %s %s/%s %v %v", e.Seq, e.Op, e.Kind, e.ID, e.Fields, e.Unset)
	}
	return out
}

func TestTrackerSnapshotThenDiffs(t *testing.T) {
	tr := NewTracker("h1", 42)
	snap := tr.Snapshot(map[string][]Item{
		"links": {link("eth0", "1500")},
		"host":  {{Kind: wire.KindHost, ID: "h1", Fields: map[string]string{"hostname": "h1"}}},
		"load":  {sample(0.5, "node_load1")},
	})
	got := describe(snap)
	want := []string{
		"1 snapshot host/h1 map[hostname:h1] []",
		"2 snapshot link/eth0 map[mtu:1500 type:veth] []",
		"3 sample metric/node_load1 map[value:0.5] []",
		"4 snapshot_end host/h1 map[first_seq:1] []",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("snapshot\n got %q\nwant %q", got, want)
	}
	for _, e := range snap {
		if err := e.Validate("h1"); err != nil {
			t.Fatalf("invalid event %v: %v", e, err)
		}
	}
	mod := link("eth0", "9000")
	delete(mod.Fields, "type")
	got = describe(tr.Update("links", []Item{mod, link("eth1", "1500")}))
	want = []string{
		"5 changed link/eth0 map[mtu:9000] [type]",
		"6 added link/eth1 map[mtu:1500 type:veth] []",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("update\n got %q\nwant %q", got, want)
	}
	// A link-only refresh never removes the host; an unchanged entity is silent.
	got = describe(tr.Update("links", []Item{link("eth1", "1500")}))
	if fmt.Sprint(got) != fmt.Sprint([]string{"7 removed link/eth0 map[] []"}) {
		t.Fatalf("removal: %q", got)
	}
}
