package netcheck

import (
	"fmt"
	"testing"
)

// BenchmarkReadViewAt reads a namespace with 100 veth pairs (200 links,
// one address each): the agent's inventory on a busy host.
func BenchmarkReadViewAt(b *testing.B) {
	n := newNS(b)
	for i := range 100 {
		n.veth(fmt.Sprintf("v%d", i), fmt.Sprintf("v%dp", i), nil)
		n.addr(fmt.Sprintf("v%d", i), fmt.Sprintf("10.%d.%d.1/24", i/250, i%250))
	}
	b.ReportAllocs()
	for b.Loop() {
		v, err := ReadViewAt(n.handle())
		if err != nil {
			b.Fatal(err)
		}
		if len(v.Links) != 201 {
			b.Fatalf("%d links", len(v.Links))
		}
	}
}

// BenchmarkCheck runs the interface checks of 50 nodes with 4 targets
// each against that view: what `node validate all` adds per host.
func BenchmarkCheck(b *testing.B) {
	n := newNS(b)
	for i := range 100 {
		n.veth(fmt.Sprintf("v%d", i), fmt.Sprintf("v%dp", i), nil)
	}
	v := n.view()
	var reqs []Requirement
	for i := range 50 {
		r, err := Requirements(fmt.Sprintf("node%d", i), Map{
			"GRID_NETWORK_TARGET":   fmt.Sprintf("v%d", i),
			"ADMIN_NETWORK_TARGET":  fmt.Sprintf("v%d", i+50),
			"CLIENT_NETWORK_TARGET": "missing0",
			"INTERFACE_TARGET_0001": fmt.Sprintf("v%dp", i),
		}, false)
		if err != nil {
			b.Fatal(err)
		}
		reqs = append(reqs, r...)
	}
	b.ReportAllocs()
	for b.Loop() {
		if fs := Check(v, reqs); len(fs) < 50 {
			b.Fatalf("%d findings", len(fs))
		}
	}
}
