package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// liveState is what a scenario must leave untouched: every entity of
// the live graph, its LUN index and its failure analysis.
func liveState(t *testing.T, g *Graph) string {
	t.Helper()
	var b strings.Builder
	for _, h := range slices.Sorted(mapKeysOf(g.hosts)) {
		for _, k := range wire.Kinds {
			for _, id := range slices.Sorted(mapKeysOf(g.hosts[h].entities[k])) {
				fmt.Fprintf(&b, "%s %s %s %v\n", h, k, id, g.hosts[h].entities[k][id].Fields)
			}
		}
		fmt.Fprintln(&b, g.hosts[h].alias, g.hosts[h].lastSeen)
	}
	fmt.Fprintln(&b, g.luns, g.failed)
	for _, n := range g.Nodes() {
		fmt.Fprintln(&b, *n)
	}
	rep, err := g.Failures(FailureQuery{Depth: 2})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(&b, rep)
	return b.String()
}

func mapKeysOf[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestScenario(t *testing.T) {
	hosts := topoFleet()
	g := graphOf(hosts, epoch0)
	w := WhatIf{Now: epoch0, StaleAfter: time.Hour}
	before := liveState(t, g)

	// A new host that sees DC1-S1's LUNs under the same paths.
	h9 := newSimHost("dc1-h9", 1, epoch0)
	addLinks(h9, 9)
	addNodeDevices(h9, "DC1-S1", hosts[0].entities[kindID{wire.KindNode, "DC1-S1"}])
	newHost := h9.snapshot().Events

	sw := func(n string) string { return "switch/" + swID(g, n) }
	cases := []struct {
		name  string
		steps []Step
		want  []string // per step: "safe"/"unsafe: rules", then the nodes it took down
		safe  bool
		check func(t *testing.T, r ScenarioReport)
	}{
		{name: "two hosts of a site stopped one after the other",
			steps: []Step{{Stop: "dc1-h2"}, {Stop: "dc1-h4"}},
			want:  []string{"safe DC1-GW2,DC1-S2", "unsafe others-in-service site-storage-quorum DC1-GW3,DC1-S3"},
			check: func(t *testing.T, r ScenarioReport) {
				if !slices.ContainsFunc(r.Failures.Baseline, func(b Broken) bool { return b.Subject == "site/DC1" }) {
					t.Errorf("baseline after: %v", r.Failures.Baseline)
				}
				// rack r2's nodes are down already: its failure breaks nothing more.
				if !slices.ContainsFunc(r.Failures.Gone, func(f Failure) bool { return f.Labels[0] == "rack/r2" }) {
					t.Errorf("gone: %v", r.Failures.Gone)
				}
			}},
		{name: "one switch of the DC1 bonds, then the other",
			steps: []Step{{Fail: sw("sw-dc1-a")}, {Stop: "dc2-h5"}, {Fail: "switch/sw-dc1-b"}},
			want:  []string{"- ", "safe DC2-GW3,DC2-S3", "- DC1-ADM1,DC1-GW1,DC1-GW2,DC1-GW3,DC1-S1,DC1-S2,DC1-S3"}},
		{name: "one switch of the DC1 bonds",
			steps: []Step{{Fail: sw("sw-dc1-a")}},
			want:  []string{"- "},
			check: func(t *testing.T, r ScenarioReport) {
				// With sw-dc1-a down, sw-dc1-b alone takes DC1 down.
				if !slices.ContainsFunc(r.Failures.New, func(f Failure) bool { return f.Labels[0] == "switch/sw-dc1-b" }) {
					t.Errorf("new after the first step: %v", r.Failures.New)
				}
			}},
		{name: "a move, then the same move again",
			steps: []Step{{Move: "DC1-GW1=dc2-h1"}, {Move: "DC1-GW1=dc2-h1"}},
			want:  []string{"safe ", "unsafe not-already-there "}},
		{name: "a new host takes a storage node",
			steps: []Step{{AddHost: newHost}, {Move: "DC1-S1=dc1-h9"}, {Stop: "dc1-h0"}},
			want:  []string{"- ", "safe ", "unsafe type-running-elsewhere DC1-ADM1,DC1-GW1"}},
		{name: "a failed LUN: the node loses it, a move of it is refused",
			steps: []Step{{Fail: "blockdev/dc1-h2/" + g.device("dc1-h2", "/dev/mapper/sgws-dc1-s2-rangedb-0").ID}, {Move: "DC1-S2=dc2-h3"}},
			want:  []string{"- DC1-S2", "unsafe one-storage-node-per-host shared-devices "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := g.Scenario(w, c.steps)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			safe := true
			for _, s := range r.Steps {
				v := "-"
				if s.Verdict != nil {
					v = "safe"
					if !s.Verdict.Safe {
						v, safe = "unsafe "+blockedRules(*s.Verdict), false
					}
				}
				got = append(got, v+" "+strings.Join(s.NodesDown, ","))
			}
			if !slices.Equal(got, c.want) || r.Safe != safe {
				t.Fatalf("steps %q (safe %v), want %q", got, r.Safe, c.want)
			}
			if c.check != nil {
				c.check(t, r)
			}
			if after := liveState(t, g); after != before {
				t.Fatalf("the scenario changed the live graph")
			}
		})
	}
	for i, bad := range []struct {
		steps []Step
		want  string
	}{
		{[]Step{{Move: "DC9-S9=dc1-h0"}}, "step 1 (move DC9-S9 to dc1-h0): node \"DC9-S9\": not in the model"},
		{[]Step{{Stop: "dc1-h2"}, {Move: "DC1-GW1"}}, "step 2 (move DC1-GW1 to ): move \"DC1-GW1\": want NODE=HOST"},
		{[]Step{{Stop: "dc1-h2", Move: "DC1-GW1=dc2-h1"}}, "a step is one of fail, stop, move or add_host (2 given)"},
		{[]Step{{Fail: "node/DC1-S1"}}, "a failure is of a host, switch, rack, wwid or blockdev"},
		{[]Step{{AddHost: newHost}, {AddHost: newHost}}, "step 2 (add host dc1-h9): host dc1-h9 is already in the model"},
	} {
		_, err := g.Scenario(w, bad.steps)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Fatalf("%v: err %v, want %q", bad.steps, err, bad.want)
		}
		if i == 0 && !errors.Is(err, ErrNotFound) {
			t.Fatalf("%v: not ErrNotFound", err)
		}
	}
	if liveState(t, g) != before {
		t.Fatal("refused scenarios changed the live graph")
	}
}
