package netcheck

import (
	"context"
	"slices"
	"testing"
)

func TestCheckNode(t *testing.T) {
	t.Parallel()
	a, _ := twoHosts(t)
	v := a.view()
	cfg := Map{"GRID_NETWORK_TARGET": "probe0", "GRID_NETWORK_IP": "10.77.0.2", "GRID_NETWORK_MASK": "255.255.255.0"}
	opts := fastProbe
	opts.Namespace = a.handle()

	rep, err := CheckNode(context.Background(), v, "DC1-S3", cfg, false, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.HasErrors() || !rep.Probed || len(rep.Interfaces) != 0 || len(rep.Addresses) != 1 || rep.Addresses[0].Key != "GRID_NETWORK_IP" {
		t.Errorf("taken address: %+v", rep)
	}

	// Running: the node answers for its own address, nothing to probe.
	rep, err = CheckNode(context.Background(), v, "DC1-S3", cfg, true, &opts)
	if err != nil || rep.HasErrors() || !rep.Running || rep.Probed || len(rep.Addresses) != 0 {
		t.Errorf("running node: %+v, %v", rep, err)
	}

	// Without probe options only the interfaces are checked.
	rep, err = CheckNode(context.Background(), v, "DC1-S3", cfg, false, nil)
	if err != nil || rep.HasErrors() || rep.Probed {
		t.Errorf("no probing: %+v, %v", rep, err)
	}

	rep, err = CheckNode(context.Background(), v, "DC1-S4", Map{"NODE_TYPE": "VM_Storage_Node"}, false, &opts)
	want := []string{"error|GRID_NETWORK_TARGET||node DC1-S4: no network targets (set GRID_NETWORK_TARGET to the host interface for its Grid Network)"}
	if err != nil || !rep.HasErrors() || !slices.Equal(flatten(rep.Interfaces), want) {
		t.Errorf("no targets: %q, %v", flatten(rep.Interfaces), err)
	}

	rep = CompareNode("DC1-S4", Map{}, v, v)
	if !rep.HasErrors() || !slices.Equal(flatten(rep.Interfaces), want) {
		t.Errorf("compare, no targets: %q", flatten(rep.Interfaces))
	}
	other := &View{Host: "host-b", Links: []Link{{Name: "lo", Type: Loopback}}}
	rep = CompareNode("DC1-S3", cfg, v, other)
	want = []string{"error|GRID_NETWORK_TARGET|probe0|probe0 is not a valid interface.  See `ip link show`"}
	if !rep.HasErrors() || rep.Host != "host-b" || !slices.Equal(flatten(rep.Interfaces), want) {
		t.Errorf("compare, missing on the other host: %+v", rep)
	}
}
