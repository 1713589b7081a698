package model

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// waves spells a plan as "h0(moves;stops) h1(...) | next wave".
func waves(p PatchPlan) string {
	var ws []string
	for _, w := range p.Waves {
		var hs []string
		for _, h := range w.Hosts {
			var mv []string
			for _, m := range h.Moves {
				mv = append(mv, m.Node+">"+m.To)
			}
			hs = append(hs, fmt.Sprintf("%s(%s;%s)", h.Host, strings.Join(mv, ","), strings.Join(h.Stops, ",")))
		}
		ws = append(ws, strings.Join(hs, " "))
	}
	return strings.Join(ws, " | ")
}

func TestPlanPatch(t *testing.T) {
	w := WhatIf{Now: epoch0, StaleAfter: time.Hour}
	cases := []struct {
		name     string
		edit     func([]*simHost)
		q        PatchQuery
		want     string // the waves, or "blocked HOST: rules"
		blockMsg string
	}{
		{name: "the primary admin node cannot stop",
			q: PatchQuery{}, want: "blocked dc1-h0: primary-admin type-running-elsewhere"},
		{name: "the primary admin node moves, one host at a time",
			q: PatchQuery{KeepRunning: []string{TypeAdmin}},
			want: "dc1-h0(DC1-ADM1>dc1-h2;DC1-GW1,DC1-S1) | dc1-h2(;DC1-GW2,DC1-S2) | dc1-h4(;DC1-GW3,DC1-S3) | " +
				"dc2-h1(;DC2-GW1,DC2-S1) | dc2-h3(;DC2-GW2,DC2-S2) | dc2-h5(;DC2-GW3,DC2-S3)"},
		{name: "two at a time: never two of a site's three storage nodes",
			q: PatchQuery{KeepRunning: []string{TypeAdmin}, MaxParallel: 2},
			want: "dc1-h0(DC1-ADM1>dc1-h2;DC1-GW1,DC1-S1) dc2-h1(;DC2-GW1,DC2-S1) | dc1-h2(;DC1-GW2,DC1-S2) dc2-h3(;DC2-GW2,DC2-S2) | " +
				"dc1-h4(;DC1-GW3,DC1-S3) dc2-h5(;DC2-GW3,DC2-S3)"},
		{name: "allowed: the primary admin node down while its host is patched",
			edit: func(h []*simHost) {
				adm := nodeConfig("DC1-ADM2", TypeAdmin)
				h[2].set(wire.KindNode, "DC1-ADM2", adm)
			},
			q:    PatchQuery{Hosts: []string{"dc1-h0"}, Allow: []string{RulePrimaryAdmin}},
			want: "dc1-h0(;DC1-ADM1,DC1-GW1,DC1-S1)"},
		{name: "a site of two storage nodes cannot lose one",
			edit: func(h []*simHost) { dropNode(h[5], "DC2-S3") },
			q:    PatchQuery{Hosts: []string{"dc2-h1", "dc2-h3"}},
			want: "blocked dc2-h1: site-storage-quorum", blockMsg: "site DC2 would keep 1 of its 2 storage nodes running; it needs 2"},
		{name: "a gateway to keep running finds no host with its LUN",
			edit: func(h []*simHost) {
				for _, x := range h[1:] {
					for k, f := range x.entities {
						if k.kind == wire.KindBlock && strings.Contains(f[wire.FieldAliases], "dc1-gw1") {
							delete(x.entities, k)
						}
					}
				}
			},
			q:    PatchQuery{Hosts: []string{"dc1-h0"}, KeepRunning: []string{TypeGateway}, Allow: []string{RulePrimaryAdmin}},
			want: "blocked dc1-h0: keep-running", blockMsg: "node DC1-GW1 (VM_API_Gateway, to keep running) has no host to move to: the first candidate says shared-devices"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hosts := topoFleet()
			if c.edit != nil {
				c.edit(hosts)
			}
			g := graphOf(hosts, epoch0)
			before := liveState(t, g)
			p, err := g.PlanPatch(w, c.q)
			if err != nil {
				t.Fatal(err)
			}
			got := waves(p)
			if !p.Feasible {
				got = "blocked " + p.Blocked + ": " + blockedRules(Verdict{Blockers: p.Blockers})
			}
			if got != c.want {
				t.Fatalf("plan %s\nwant %s\nblockers %v", got, c.want, p.Blockers)
			}
			if c.blockMsg != "" && !strings.Contains(fmt.Sprint(p.Blockers), c.blockMsg) {
				t.Fatalf("blockers %v, want %q", p.Blockers, c.blockMsg)
			}
			if liveState(t, g) != before {
				t.Fatal("planning changed the live model")
			}
		})
	}
	g := graphOf(topoFleet(), epoch0)
	for _, q := range []PatchQuery{{Hosts: []string{"dc9-h9"}}, {Allow: []string{"no-such-rule"}}} {
		if _, err := g.PlanPatch(w, q); err == nil {
			t.Fatalf("%+v accepted", q)
		}
	}
}
