package model

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/wire"
)

// Fleet of the migrate tests: one group of four hosts sharing LUNs, two
// sites alternating; h0: DC1-S1 DC1-GW1, h1: DC2-S1 DC2-GW1, h2: DC1-S2
// DC1-GW2, h3: DC2-S2 DC2-GW2; plus h4, h5 in a second group.
var migrateFleet = fleetSpec{hosts: 6, sites: 2, groupSize: 4, types: []string{TypeStorage, TypeGateway}}

// fleetServer feeds a generated fleet, edited first, to a test server.
func fleetServer(t *testing.T, spec fleetSpec, edit func(hosts []*simHost)) (*testServer, []*simHost) {
	t.Helper()
	hosts := genFleet(spec, epoch0)
	if edit != nil {
		edit(hosts)
	}
	ts := newTestServer(t, "", hostIDs(hosts)...)
	ts.feed(hosts)
	return ts, hosts
}

// blockedRules is the sorted set of rules with blockers.
func blockedRules(v Verdict) string {
	var rules []string
	for _, b := range v.Blockers {
		if !slices.Contains(rules, b.Rule) {
			rules = append(rules, b.Rule)
		}
	}
	slices.Sort(rules)
	return strings.Join(rules, " ")
}

func dropNode(h *simHost, name string) { delete(h.entities, kindID{wire.KindNode, name}) }

func editNode(h *simHost, name string, set map[string]string) {
	for k, v := range set {
		h.entities[kindID{wire.KindNode, name}][k] = v
	}
}

func TestCheckMigrateRules(t *testing.T) {
	cases := []struct {
		name     string
		edit     func(hosts []*simHost)
		node, to string
		blocked  string // rules expected to block, "" for safe
		message  string // part of a blocker's message
	}{
		{name: "safe gateway move", node: "DC1-GW1", to: "dc2-h1"},
		{name: "safe storage move to a host without one", node: "DC1-S1", to: "dc2-h1",
			edit: func(h []*simHost) { dropNode(h[1], "DC2-S1") }},
		{name: "already there", node: "DC1-GW1", to: "dc1-h0", blocked: RuleNotThere,
			message: "already runs on host dc1-h0"},
		{name: "LUN not visible on target", node: "DC1-S1", to: "dc1-h4", blocked: RuleSharedDevices,
			edit:    func(h []*simHost) { dropNode(h[4], "DC1-S3") },
			message: "BLOCK_DEVICE_RANGEDB_00 = /dev/mapper/sgws-dc1-s1-rangedb-0: host dc1-h4 does not see WWID"},
		{name: "LUN visible under another path", node: "DC1-GW1", to: "dc2-h1", blocked: RuleSharedDevices,
			edit: func(h []*simHost) {
				for _, f := range h[1].entities {
					f[wire.FieldAliases] = strings.ReplaceAll(f[wire.FieldAliases], "sgws-dc1-gw1-var-local", "mpatha")
				}
			},
			message: "as /dev/dm-"},
		{name: "device unknown on the source", node: "DC1-GW1", to: "dc2-h1", blocked: RuleSharedDevices,
			edit: func(h []*simHost) {
				editNode(h[0], "DC1-GW1", map[string]string{"BLOCK_DEVICE_VAR_LOCAL": "/dev/mapper/nowhere"})
			},
			message: "host dc1-h0 reports no device with a WWID at that path"},
		{name: "interface missing on target", node: "DC1-GW1", to: "dc2-h1", blocked: RuleInterfaces,
			edit:    func(h []*simHost) { delete(h[1].entities, kindID{wire.KindLink, "bond0.1003"}) },
			message: "CLIENT_NETWORK_TARGET = bond0.1003: host dc2-h1 has no interface bond0.1003"},
		{name: "interface administratively down on target", node: "DC1-GW1", to: "dc2-h1", blocked: RuleInterfaces,
			edit: func(h []*simHost) {
				h[1].entities[kindID{wire.KindLink, "bond0.1003"}][wire.FieldAdminState] = "down"
			},
			message: "CLIENT_NETWORK_TARGET = bond0.1003: interface bond0.1003 of host dc2-h1 is administratively down"},
		{name: "interface without carrier on target", node: "DC1-GW1", to: "dc2-h1", blocked: RuleInterfaces,
			edit: func(h []*simHost) {
				h[1].entities[kindID{wire.KindLink, "bond0.1003"}][wire.FieldOperState] = "lowerlayerdown"
			},
			message: "interface bond0.1003 of host dc2-h1 is up but lowerlayerdown (no carrier)"},
		{name: "interface missing but network disabled", node: "DC1-GW1", to: "dc2-h1",
			edit: func(h []*simHost) {
				delete(h[1].entities, kindID{wire.KindLink, "bond0.1003"})
				editNode(h[0], "DC1-GW1", map[string]string{"CLIENT_NETWORK_CONFIG": "DISABLED"})
			}},
		{name: "second storage node on a host", node: "DC1-S1", to: "dc2-h1", blocked: RuleOneStorage,
			message: "host dc2-h1 already has storage node DC2-S1"},
		{name: "every gateway of the site on one host", node: "DC1-GW1", to: "dc1-h2", blocked: RuleTypeSpread,
			edit:    func(h []*simHost) { dropNode(h[4], "DC1-GW3") },
			message: "all 2 VM_API_Gateway nodes of site DC1 (DC1-GW1, DC1-GW2) would be on host dc1-h2"},
		{name: "SITE key overrides the name prefix", node: "DC1-GW1", to: "dc1-h2",
			edit: func(h []*simHost) {
				dropNode(h[4], "DC1-GW3")
				editNode(h[2], "DC1-GW2", map[string]string{"SITE": "DC9"})
			}},
		{name: "target memory too small", node: "DC1-GW1", to: "dc2-h1", blocked: RuleCapacity,
			edit: func(h []*simHost) {
				h[1].entities[kindID{wire.KindHost, h[1].id}][wire.FieldMemoryBytes] = fmt.Sprint(36 << 30)
			},
			message: "host dc2-h1 has 36 GiB of memory; its nodes would need 40 GiB (MAXIMUM_RAM of DC1-GW1, DC2-GW1, DC2-S1)"},
		{name: "target memory unknown", node: "DC1-GW1", to: "dc2-h1", blocked: RuleCapacity,
			edit:    func(h []*simHost) { delete(h[1].entities[kindID{wire.KindHost, h[1].id}], wire.FieldMemoryBytes) },
			message: "does not report memory_bytes"},
		{name: "another node out of service", node: "DC1-GW1", to: "dc2-h1", blocked: RuleOthersInService,
			edit:    func(h []*simHost) { editNode(h[5], "DC2-S3", map[string]string{wire.FieldRunState: "Not-Running"}) },
			message: "node DC2-S3 on host dc2-h5 is Not-Running: migrate one node at a time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, _ := fleetServer(t, migrateFleet, c.edit)
			v, err := ts.client.CheckMigrate(context.Background(), c.node, c.to)
			if err != nil {
				t.Fatal(err)
			}
			if got := blockedRules(v); got != c.blocked || v.Safe != (c.blocked == "") {
				t.Fatalf("blocked by %q (safe %v), want %q: %+v", got, v.Safe, c.blocked, v.Blockers)
			}
			if c.message != "" && !strings.Contains(fmt.Sprint(v.Blockers), c.message) {
				t.Fatalf("no blocker says %q: %+v", c.message, v.Blockers)
			}
			if len(v.Rules) != len(migrateRules) {
				t.Fatalf("rules evaluated: %v", v.Rules)
			}
			if err := v.Err(); (err == nil) != v.Safe || (err != nil && fail.KindOf(err) != fail.Refused) {
				t.Fatalf("Err() = %v", err)
			}
		})
	}
}

// TestCheckMigrateReportsAllBlockers: one check, many problems, all named.
func TestCheckMigrateReportsAllBlockers(t *testing.T) {
	ts, _ := fleetServer(t, migrateFleet, func(h []*simHost) {
		delete(h[4].entities, kindID{wire.KindLink, "bond0.1002"})
		h[4].entities[kindID{wire.KindHost, h[4].id}][wire.FieldMemoryBytes] = fmt.Sprint(8 << 30)
		editNode(h[1], "DC2-GW1", map[string]string{wire.FieldRunState: "Orphaned"})
	})
	v, err := ts.client.CheckMigrate(context.Background(), "DC1-S1", "dc1-h4")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{RuleInterfaces, RuleOneStorage, RuleOthersInService, RuleSharedDevices, RuleCapacity}, " ")
	if got := blockedRules(v); got != sortedRules(want) {
		t.Fatalf("blocked by %q, want %q", got, sortedRules(want))
	}
	if n := strings.Count(fmt.Sprint(v.Blockers), RuleSharedDevices); n != 3 {
		t.Fatalf("want one shared-devices blocker per device (3), got %d: %+v", n, v.Blockers)
	}
}

func sortedRules(s string) string {
	f := strings.Fields(s)
	slices.Sort(f)
	return strings.Join(f, " ")
}

func TestWhatIfFreshness(t *testing.T) {
	ts, hosts := fleetServer(t, migrateFleet, nil)
	// Ten minutes on, every host but dc2-h1 reports again.
	ts.clock.Set(epoch0.Add(10 * time.Minute))
	for _, h := range hosts {
		if h.id != "dc2-h1" {
			b := wire.NewBatch(h.id)
			b.Add(h.sample("node_load1", 1))
			ts.send(b)
		}
	}
	ctx := context.Background()
	v, err := ts.client.CheckMigrate(ctx, "DC1-GW1", "dc2-h1")
	if err != nil {
		t.Fatal(err)
	}
	if got := blockedRules(v); got != RuleFreshData+" "+RuleOthersInService || !strings.Contains(fmt.Sprint(v.Blockers), "host dc2-h1 has not reported since 2024-06-10T08:00:00Z") {
		t.Fatalf("stale target: %q %+v", got, v.Blockers)
	}
	if v, _ = ts.client.CheckMigrate(ctx, "DC1-GW1", "dc1-h2"); blockedRules(v) != RuleOthersInService ||
		!strings.Contains(fmt.Sprint(v.Blockers), "node DC2-S1 on host dc2-h1 is unknown (host dc2-h1 silent since") {
		t.Fatalf("stale bystander: %+v", v.Blockers)
	}
	if v, _ = ts.client.OkToStop(ctx, "dc2-h1"); blockedRules(v) != RuleFreshData {
		t.Fatalf("ok-to-stop of a stale host: %+v", v.Blockers)
	}
}

// Fleet of the stop tests: 6 hosts, 2 sites of 3 storage nodes and 3
// gateways each, one admin node on h0.
var stopFleet = fleetSpec{hosts: 6, sites: 2, groupSize: 6, types: []string{TypeStorage, TypeGateway}}

func TestOkToStopRules(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(hosts []*simHost)
		host    string
		blocked string
		message string
	}{
		{name: "safe", host: "dc1-h0"},
		{name: "another node already down", host: "dc1-h0", blocked: RuleOthersInService,
			edit:    func(h []*simHost) { editNode(h[3], "DC2-GW2", map[string]string{wire.FieldRunState: "Stopping"}) },
			message: "node DC2-GW2 on host dc2-h3 is already Stopping"},
		{name: "nodes of the host itself may be down", host: "dc1-h0",
			edit: func(h []*simHost) { editNode(h[0], "DC1-GW1", map[string]string{wire.FieldRunState: "Not-Running"}) }},
		{name: "last admin node", host: "dc1-h0", blocked: RuleTypeElsewhere,
			edit: func(h []*simHost) {
				h[0].set(wire.KindNode, "DC1-ADM1", nodeConfig("DC1-ADM1", TypeAdmin))
			},
			message: "no VM_Admin_Node would keep running elsewhere than host dc1-h0"},
		{name: "second admin node elsewhere", host: "dc1-h0",
			edit: func(h []*simHost) {
				h[0].set(wire.KindNode, "DC1-ADM1", nodeConfig("DC1-ADM1", TypeAdmin))
				h[3].set(wire.KindNode, "DC2-ADM1", nodeConfig("DC2-ADM1", TypeAdmin))
			}},
		{name: "site loses its storage majority", host: "dc1-h0", blocked: RuleSiteStorage,
			edit:    func(h []*simHost) { dropNode(h[4], "DC1-S3") },
			message: "site DC1 would keep 1 of its 2 storage nodes running; it needs 2 (a majority)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, _ := fleetServer(t, stopFleet, c.edit)
			v, err := ts.client.OkToStop(context.Background(), c.host)
			if err != nil {
				t.Fatal(err)
			}
			if got := blockedRules(v); got != c.blocked || v.Safe != (c.blocked == "") {
				t.Fatalf("blocked by %q, want %q: %+v", got, c.blocked, v.Blockers)
			}
			if c.message != "" && !strings.Contains(fmt.Sprint(v.Blockers), c.message) {
				t.Fatalf("no blocker says %q: %+v", c.message, v.Blockers)
			}
		})
	}
}

func TestWhatIfUnknownNames(t *testing.T) {
	ts, _ := fleetServer(t, migrateFleet, nil)
	ctx := context.Background()
	for _, call := range []func() error{
		func() error { _, err := ts.client.CheckMigrate(ctx, "DC7-S1", "dc1-h0"); return err },
		func() error { _, err := ts.client.CheckMigrate(ctx, "DC1-S1", "nowhere"); return err },
		func() error { _, err := ts.client.OkToStop(ctx, "nowhere"); return err },
	} {
		err := call()
		if err == nil || fail.KindOf(err) != fail.Usage || !strings.Contains(err.Error(), "not in the model") {
			t.Errorf("unknown name: %v", err)
		}
	}
	_, err := ts.client.OkToStop(ctx, "")
	var kindErr interface{ Unwrap() error }
	if err == nil || !errors.As(err, &kindErr) || !strings.Contains(err.Error(), "ok-to-stop needs host") {
		t.Errorf("missing host: %v", err)
	}
}

func TestImpact(t *testing.T) {
	ts, hosts := fleetServer(t, migrateFleet, nil)
	ctx := context.Background()
	cases := []struct {
		entity string
		nodes  string
		has    []string
	}{
		{"dc1-h0", "DC1-GW1 DC1-S1", []string{"link/dc1-h0/bond0.1001", "address/dc1-h0/bond0.1001/10.1.0.1/16"}},
		{"host/dc2-h1", "DC2-GW1 DC2-S1", nil},
		{"link/dc1-h0/eth1", "DC1-GW1 DC1-S1", []string{"link/dc1-h0/bond0", "link/dc1-h0/bond0.1002", "route/dc1-h0/254/default/0/bond0.1001/10.1.0.1"}},
		{"interface/dc1-h0/bond0.1003", "DC1-GW1 DC1-S1", []string{"address/dc1-h0/bond0.1003/10.3.0.1/16"}},
		{"blockdev/dc2-h1//dev/mapper/sgws-dc1-s1-rangedb-0", "", nil},
		{"blockdev/dc1-h0//dev/mapper/sgws-dc1-s1-rangedb-0", "DC1-S1", nil},
		{"DC1-S1", "", nil},
	}
	for _, c := range cases {
		im, err := ts.client.Impact(ctx, c.entity)
		if err != nil {
			t.Fatalf("%s: %v", c.entity, err)
		}
		if got := strings.Join(im.Nodes, " "); got != c.nodes {
			t.Errorf("impact %s: nodes %q, want %q", c.entity, got, c.nodes)
		}
		var refs []string
		for _, a := range im.Affected {
			refs = append(refs, a.Ref.String())
		}
		for _, want := range c.has {
			if !slices.Contains(refs, want) {
				t.Errorf("impact %s: %s not among %v", c.entity, want, refs)
			}
		}
	}
	// A LUN by WWID reaches every host of the group that sees it and the
	// node using it.
	var wwid string
	for _, f := range hosts[0].entities {
		if strings.Contains(f[wire.FieldAliases], "sgws-dc1-s1-rangedb-0") {
			wwid = f[wire.FieldWWID]
		}
	}
	im, err := ts.client.Impact(ctx, "wwid/"+wwid)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Affected) != 5 || strings.Join(im.Nodes, " ") != "DC1-S1" {
		t.Fatalf("impact of the LUN: %+v", im)
	}
	for _, bad := range []string{"frob/x", "link/dc1-h0", "link/dc1-h0/eth9", "nowhere"} {
		if _, err := ts.client.Impact(ctx, bad); err == nil || fail.KindOf(err) != fail.Usage {
			t.Errorf("impact %q: %v", bad, err)
		}
	}
}

// ok-to-stop and check-migrate rest on node states, which agents confirm
// at least every 2 s: with NodeStatesMaxAge (model.node_states_max_age,
// 5 s by default) a host not heard from for longer is distrusted, and the
// blocker says for how long, while other queries keep StaleAfter.
func TestNodeStatesMaxAge(t *testing.T) {
	ts, _ := fleetServer(t, migrateFleet, nil)
	ts.srv.cfg.NodeStatesMaxAge = 5 * time.Second
	ctx := context.Background()
	ts.clock.Set(epoch0.Add(4 * time.Second))
	if v, err := ts.client.OkToStop(ctx, "dc2-h1"); err != nil || strings.Contains(blockedRules(v), RuleFreshData) {
		t.Fatalf("4 s on: %v %+v", err, v.Blockers)
	}
	ts.clock.Set(epoch0.Add(6 * time.Second))
	v, err := ts.client.OkToStop(ctx, "dc2-h1")
	if err != nil || !strings.Contains(blockedRules(v), RuleFreshData) ||
		!strings.Contains(fmt.Sprint(v.Blockers), "host dc2-h1 has not reported since 2024-06-10T08:00:00Z (more than 5s ago)") {
		t.Fatalf("6 s on: %v %+v", err, v.Blockers)
	}
	if hosts, err := ts.client.Hosts(ctx); err != nil || hosts[0].Stale {
		t.Fatalf("hosts, 6 s on, keep the 5-minute window: %v %+v", err, hosts)
	}
}
