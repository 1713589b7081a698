package model

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/storagegrid/storagegrid/wire"
)

// topoFleet is the fleet of the failure tests: migrateFleet's layout
// (DC1 on dc1-h0, h2, h4; DC2 on dc2-h1, h3, h5; a storage node and a
// gateway on each), plus the primary admin node DC1-ADM1 on dc1-h0. The
// DC1 hosts' bonds have a member on each of two switches; every DC2 host
// hangs both members off one switch. Racks: r1 = dc1-h0; r2 = dc1-h2,
// dc1-h4; r3 = dc2-h1, dc2-h3; r4 = dc2-h5.
func topoFleet() []*simHost {
	hosts := genFleet(fleetSpec{hosts: 6, sites: 2, groupSize: 6, types: []string{TypeStorage, TypeGateway}}, epoch0)
	adm := nodeConfig("DC1-ADM1", TypeAdmin)
	adm["ADMIN_ROLE"] = "Primary"
	hosts[0].set(wire.KindNode, "DC1-ADM1", adm)
	for _, h := range hosts {
		addNodeDevices(h, "DC1-ADM1", adm) // its LUNs, seen by every host as the others' are
	}
	racks := []string{"r1", "r3", "r2", "r3", "r2", "r4"}
	for i, h := range hosts {
		h.entities[kindID{wire.KindHost, h.id}][wire.FieldRack] = racks[i]
		for n, link := range []string{"eth0", "eth1"} {
			sw := "sw-dc2"
			if i%2 == 0 {
				sw = []string{"sw-dc1-a", "sw-dc1-b"}[n]
			}
			addNeighbor(h, link, sw, fmt.Sprintf("Ethernet1/%d", i*2+n+1))
		}
	}
	return hosts
}

// addNeighbor has h hear switch sw on link, at port.
func addNeighbor(h *simHost, link, sw, port string) {
	chassis := fmt.Sprintf("02:00:00:00:%02x:%02x", hashString(sw)>>8&0xff, hashString(sw)&0xff)
	h.set(wire.KindNeighbor, wire.NeighborID(link, chassis, port), map[string]string{
		wire.FieldLink: link, wire.FieldChassisID: chassis, wire.FieldChassisIDSubtype: "mac",
		wire.FieldSysName: sw, wire.FieldPortID: port, wire.FieldSource: "lldp"})
}

// summary is one failure as a line: components, then rule@subject.
func summary(f Failure) string {
	var c, b []string
	for _, r := range f.Components {
		c = append(c, r.String())
	}
	for _, x := range f.Broken {
		b = append(b, x.Rule+"@"+x.Subject)
	}
	return strings.Join(c, "+") + ": " + strings.Join(b, " ")
}

func swID(g *Graph, name string) string {
	r, ok := g.switchRef(name)
	if !ok {
		panic(name)
	}
	return r.ID
}

func TestFailuresSingle(t *testing.T) {
	g := graphOf(topoFleet(), epoch0)
	rep, err := g.Failures(FailureQuery{Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	sw := func(n string) string { return "switch/" + swID(g, n) }
	want := []string{
		sw("sw-dc2") + ": site-storage-quorum@site/DC2 type-at-site@site/DC2/VM_API_Gateway type-at-site@site/DC2/VM_Storage_Node " +
			"node-grid-network@node/DC2-GW1 node-grid-network@node/DC2-GW2 node-grid-network@node/DC2-GW3 " +
			"node-grid-network@node/DC2-S1 node-grid-network@node/DC2-S2 node-grid-network@node/DC2-S3",
		"rack/r2: site-storage-quorum@site/DC1",
		"rack/r3: site-storage-quorum@site/DC2",
		"host/dc1-h0: primary-admin@node/DC1-ADM1 type-at-site@site/DC1/VM_Admin_Node",
		"rack/r1: primary-admin@node/DC1-ADM1 type-at-site@site/DC1/VM_Admin_Node",
	}
	var got []string
	for _, f := range rep.Failures {
		got = append(got, summary(f))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("failures:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.Components != 6+3+4 || len(rep.Baseline) != 0 {
		t.Fatalf("components %d, baseline %v", rep.Components, rep.Baseline)
	}
	top := rep.Failures[0]
	if !slices.Equal(top.NodesLost, []string{"DC2-GW1", "DC2-GW2", "DC2-GW3", "DC2-S1", "DC2-S2", "DC2-S3"}) ||
		!strings.Contains(top.Broken[0].Message, "site DC2 would keep 0 of its 3 storage nodes running; it needs 2") ||
		!strings.Contains(top.Broken[3].Message, "node DC2-GW1 loses its grid network: GRID_NETWORK_TARGET = bond0.1001: its parent bond0 down") {
		t.Fatalf("top failure: %+v", top)
	}

	// A site filter keeps the failures that break a rule there.
	rep, _ = g.Failures(FailureQuery{Depth: 1, Site: "DC1"})
	if len(rep.Failures) != 3 || summary(rep.Failures[0]) != want[1] {
		t.Fatalf("DC1: %v", rep.Failures)
	}
	// Devices, when asked: every LUN a running node uses.
	rep, _ = g.Failures(FailureQuery{Depth: 1, Kinds: []string{"device"}})
	if rep.Components != 6*3+6+3 || len(rep.Failures) != rep.Components || rep.Failures[0].Broken[0].Rule != RulePrimaryAdmin {
		t.Fatalf("devices: %d components, %d failures, first %v", rep.Components, len(rep.Failures), rep.Failures[0])
	}
	// A node already down is the baseline's, not a failure's.
	hosts := topoFleet()
	editNode(hosts[0], "DC1-ADM1", map[string]string{wire.FieldRunState: "Not-Running"})
	rep, _ = graphOf(hosts, epoch0).Failures(FailureQuery{})
	if len(rep.Baseline) != 1 || rep.Baseline[0].Rule != RulePrimaryAdmin || slices.ContainsFunc(rep.Failures, func(f Failure) bool { return f.Components[0].ID == "dc1-h0" }) {
		t.Fatalf("baseline %v, failures %v", rep.Baseline, rep.Failures)
	}
	for _, q := range []FailureQuery{{Depth: 3}, {Kinds: []string{"room"}}, {Site: "DC9"}} {
		if _, err := g.Failures(q); err == nil {
			t.Fatalf("%+v accepted", q)
		}
	}
}

// TestFailuresPairs holds the pair search, which skips the pairs that
// cannot break a rule neither breaks alone, to evaluating every pair in
// full.
func TestFailuresPairs(t *testing.T) {
	for _, edit := range []func([]*simHost){nil, func(h []*simHost) {
		// Three storage nodes more at DC1: one host down is nothing,
		// two are still nothing, a rack is.
		for i := 6; i < 9; i++ {
			hs := newSimHost(fmt.Sprintf("dc1-h%d", i), 1, epoch0)
			addLinks(hs, i)
			name := fmt.Sprintf("DC1-S%d", i)
			cfg := nodeConfig(name, TypeStorage)
			hs.set(wire.KindNode, name, cfg)
			addNodeDevices(hs, name, cfg)
			hs.entities[kindID{wire.KindHost, hs.id}][wire.FieldRack] = "r5"
			addNeighbor(hs, "eth0", "sw-dc1-a", "Ethernet2/1")
			addNeighbor(hs, "eth1", "sw-dc1-a", "Ethernet2/2")
			h = append(h, hs)
		}
	}} {
		hosts := topoFleet()
		if edit != nil {
			edit(hosts)
		}
		g := graphOf(hosts, epoch0)
		rep, err := g.Failures(FailureQuery{Depth: 2})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, f := range rep.Failures {
			if len(f.Components) == 2 {
				got[summary(f)] = true
			}
		}
		// Every pair, in full.
		a := g.newAnalysis()
		comps := g.components(DefaultFailureKinds)
		singles := map[Ref]map[string]bool{}
		all := func(f *failSet) []nodeRef {
			return a.lose(f, slices.Sorted(func(yield func(string) bool) {
				for h := range g.hosts {
					if !yield(h) {
						return
					}
				}
			}))
		}
		for _, c := range comps {
			singles[c] = map[string]bool{}
			for _, b := range a.judge(all(&failSet{refs: []Ref{c}})) {
				singles[c][b.Rule+" "+b.Subject] = true
			}
		}
		want := map[string]bool{}
		for i, x := range comps {
			for _, y := range comps[i+1:] {
				lost := all(&failSet{refs: []Ref{x, y}})
				var fresh []Broken
				for _, b := range a.judge(lost) {
					if k := b.Rule + " " + b.Subject; !singles[x][k] && !singles[y][k] {
						fresh = append(fresh, b)
					}
				}
				if len(fresh) > 0 {
					want[summary(a.failure([]Ref{x, y}, lost, fresh))] = true
				}
			}
		}
		if len(want) < 10 || fmt.Sprint(slices.Sorted(mapKeys(got))) != fmt.Sprint(slices.Sorted(mapKeys(want))) {
			t.Fatalf("pairs (%d evaluated of %d):\n%s\nevery pair in full:\n%s", rep.Pairs, len(comps)*(len(comps)-1)/2,
				strings.Join(slices.Sorted(mapKeys(got)), "\n"), strings.Join(slices.Sorted(mapKeys(want)), "\n"))
		}
		if rep.Pairs >= len(comps)*(len(comps)-1)/2 {
			t.Fatalf("%d pairs evaluated: nothing skipped", rep.Pairs)
		}
		// Both switches of the DC1 bonds: the worst failure of all.
		first := summary(rep.Failures[0])
		if !strings.HasPrefix(first, "switch/"+swID(g, "sw-dc1-a")+"+switch/"+swID(g, "sw-dc1-b")+": site-storage-quorum@site/DC1 primary-admin@node/DC1-ADM1") &&
			!strings.HasPrefix(first, "switch/"+swID(g, "sw-dc1-b")+"+switch/"+swID(g, "sw-dc1-a")+": site-storage-quorum@site/DC1 primary-admin@node/DC1-ADM1") {
			t.Fatalf("first failure %s", first)
		}
	}
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestImpactSwitchAndRack(t *testing.T) {
	g := graphOf(topoFleet(), epoch0)
	ref, err := g.ParseRef("switch/sw-dc1-a")
	if err != nil {
		t.Fatal(err)
	}
	im := g.Impact(ref)
	var aff, deg []string
	for _, a := range im.Affected {
		aff = append(aff, fmt.Sprintf("%d %s via %s", a.Depth, a.Ref, a.Via))
	}
	for _, a := range im.Degraded {
		deg = append(deg, fmt.Sprintf("%s via %s", a.Ref, a.Via))
	}
	want := fmt.Sprintf("1 link/dc1-h0/eth0 via %[1]s;1 link/dc1-h2/eth0 via %[1]s;1 link/dc1-h4/eth0 via %[1]s", ref)
	if strings.Join(aff, ";") != want || len(im.Nodes) != 0 ||
		strings.Join(deg, ";") != "link/dc1-h0/bond0 via link/dc1-h0/eth0;link/dc1-h2/bond0 via link/dc1-h2/eth0;link/dc1-h4/bond0 via link/dc1-h4/eth0" {
		t.Fatalf("impact of sw-dc1-a:\n%s\ndegraded %s\nnodes %v", strings.Join(aff, "\n"), deg, im.Nodes)
	}
	ref, _ = g.ParseRef("switch/sw-dc2")
	im = g.Impact(ref)
	if !slices.Equal(im.Nodes, []string{"DC2-GW1", "DC2-GW2", "DC2-GW3", "DC2-S1", "DC2-S2", "DC2-S3"}) || len(im.Degraded) != 0 {
		t.Fatalf("impact of sw-dc2: nodes %v degraded %v", im.Nodes, im.Degraded)
	}
	var byHost []string
	for _, a := range im.Affected {
		if a.Host == "dc2-h1" {
			byHost = append(byHost, fmt.Sprintf("%d %s via %s", a.Depth, a.Ref, a.Via))
		}
	}
	if want := []string{
		"1 link/dc2-h1/eth0 via " + ref.String(), "1 link/dc2-h1/eth1 via " + ref.String(),
		"2 link/dc2-h1/bond0 via link/dc2-h1/eth0", "3 link/dc2-h1/bond0.1001 via link/dc2-h1/bond0",
	}; len(byHost) < 10 || !slices.Equal(byHost[:4], want) {
		t.Fatalf("dc2-h1 under sw-dc2:\n%s", strings.Join(byHost, "\n"))
	}
	ref, err = g.ParseRef("rack/r2")
	im = g.Impact(ref)
	if err != nil || !slices.Equal(im.Nodes, []string{"DC1-GW2", "DC1-GW3", "DC1-S2", "DC1-S3"}) || im.Affected[0].Ref.String() != "host/dc1-h2" {
		t.Fatalf("rack r2: %v %+v", err, im)
	}
	for _, bad := range []string{"switch/nope", "rack/r9"} {
		if _, err := g.ParseRef(bad); err == nil {
			t.Fatalf("%s accepted", bad)
		}
	}
}

// TestHostSiteOverride: a host's site setting is its nodes' site unless
// a node names its own, and a change of the setting moves them.
func TestHostSiteOverride(t *testing.T) {
	hosts := topoFleet()
	hosts[1].entities[kindID{wire.KindHost, "dc2-h1"}][wire.FieldSite] = "DC9"
	editNode(hosts[1], "DC2-GW1", map[string]string{"SITE": "DC2"})
	g := graphOf(hosts, epoch0)
	site := func(name string) string { return g.node(name).Site }
	if site("DC2-S1") != "DC9" || site("DC2-GW1") != "DC2" || site("DC2-S2") != "DC2" {
		t.Fatalf("sites %s %s %s", site("DC2-S1"), site("DC2-GW1"), site("DC2-S2"))
	}
	g.Apply("dc2-h1", []Change{{Host: "dc2-h1", Kind: wire.KindHost, ID: "dc2-h1", Op: OpChanged, Time: epoch0,
		After: map[string]string{wire.FieldHostname: "dc2-h1", wire.FieldSite: "DC8"}}}, epoch0)
	if site("DC2-S1") != "DC8" || !slices.ContainsFunc(g.Nodes(), func(n *Node) bool { return n.Name == "DC2-S1" && n.Site == "DC8" }) {
		t.Fatalf("after the change: %s", site("DC2-S1"))
	}
}
