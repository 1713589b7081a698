package model

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/wire"
)

// The rules of the what-if checks. Every rule is evaluated every time;
// a verdict lists all the blockers found.
const (
	RuleFreshData       = "fresh-data"                // the hosts concerned reported recently
	RuleNotThere        = "not-already-there"         // the node is not on the target already
	RuleSharedDevices   = "shared-devices"            // the target sees every device of the node by WWID and path
	RuleInterfaces      = "interface-names"           // the target has every interface the node needs
	RuleOneStorage      = "one-storage-node-per-host" // never two storage nodes on a host
	RuleTypeSpread      = "type-spread"               // never every node of a type (of a site) on one host
	RuleCapacity        = "target-capacity"           // the target's memory covers its nodes' MAXIMUM_RAM
	RuleOthersInService = "others-in-service"         // no other node is already out of service
	RuleTypeElsewhere   = "type-running-elsewhere"    // each node type keeps a running instance elsewhere
	RuleSiteStorage     = "site-storage-quorum"       // each site keeps a majority of its storage nodes running
)

var migrateRules = []string{RuleFreshData, RuleNotThere, RuleSharedDevices, RuleInterfaces, RuleOneStorage,
	RuleTypeSpread, RuleCapacity, RuleOthersInService}

var stopRules = []string{RuleFreshData, RuleOthersInService, RuleTypeElsewhere, RuleSiteStorage}

// Blocker is one reason a change is not safe.
type Blocker struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
	// Node, for others-in-service: the node out of service, so that a
	// rolling patch can tell its own wave's stops from others.
	Node string `json:"node,omitempty"`
}

// Verdict is the outcome of a what-if check.
type Verdict struct {
	Check    string    `json:"check"` // check-migrate or ok-to-stop
	Node     string    `json:"node,omitempty"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to,omitempty"`
	Host     string    `json:"host,omitempty"`
	Safe     bool      `json:"safe"`
	Rules    []string  `json:"rules"`
	Blockers []Blocker `json:"blockers"`
	At       time.Time `json:"evaluated_at"`
}

// Err is nil for a safe verdict and a refusal (exit 5) naming the
// blockers otherwise.
func (v *Verdict) Err() error {
	if v.Safe {
		return nil
	}
	what := "stopping host " + v.Host
	if v.Check == "check-migrate" {
		what = fmt.Sprintf("moving node %s to host %s", v.Node, v.To)
	}
	return fail.Refusedf("%s is not safe: %d blocker(s)", what, len(v.Blockers))
}

func (v *Verdict) block(rule, format string, a ...any) {
	v.Blockers = append(v.Blockers, Blocker{Rule: rule, Message: fmt.Sprintf(format, a...)})
}

func (v *Verdict) finish() Verdict {
	v.Safe = len(v.Blockers) == 0
	return *v
}

// WhatIf holds the clock and freshness window of a check.
type WhatIf struct {
	Now        time.Time
	StaleAfter time.Duration // a host silent for longer is not trusted
}

// forkNode is a node in a forked model: a copy with the hypothetical
// change applied.
type forkNode struct {
	*Node
	// Host and RunState are the node's in the fork; they shadow the
	// Node's, which is shared with the graph and never written.
	Host, RunState string
	fresh          bool // its host reported within the freshness window
}

func (n *forkNode) up() bool { return n.fresh && n.RunState == Running }

// state describes a node's run state for a blocker message.
func (n *forkNode) state(g *Graph) string {
	if !n.fresh {
		return fmt.Sprintf("unknown (host %s silent since %s)", n.Host, g.hosts[n.Host].lastSeen.UTC().Format(time.RFC3339))
	}
	return n.RunState
}

// fork copies every node, applies change to each copy and notes whether
// its host is fresh (before the change: freshness is about the data).
func (g *Graph) fork(w WhatIf, change func(*forkNode)) []forkNode {
	staleBefore := w.Now.Add(-w.StaleAfter)
	nodes := g.Nodes()
	out := make([]forkNode, len(nodes))
	for i, n := range nodes {
		out[i] = forkNode{Node: n, Host: n.Host, RunState: n.RunState, fresh: !g.hosts[n.Host].lastSeen.Before(staleBefore)}
		change(&out[i])
	}
	return out
}

func (g *Graph) fresh(w WhatIf, host string) bool {
	h := g.hosts[host]
	return h != nil && !h.lastSeen.Before(w.Now.Add(-w.StaleAfter))
}

// CheckMigrate evaluates moving node name to host to. Unknown names are
// errors wrapping ErrNotFound; everything else is a verdict.
func (g *Graph) CheckMigrate(w WhatIf, name, to string) (Verdict, error) {
	n := g.node(name)
	if n == nil {
		return Verdict{}, fmt.Errorf("node %q: %w", name, ErrNotFound)
	}
	if g.hosts[to] == nil {
		return Verdict{}, fmt.Errorf("host %q: %w", to, ErrNotFound)
	}
	v := &Verdict{Check: "check-migrate", Node: name, From: n.Host, To: to, Rules: migrateRules, Blockers: []Blocker{}, At: w.Now}
	for _, h := range []string{n.Host, to} {
		if !g.fresh(w, h) {
			v.block(RuleFreshData, "host %s has not reported since %s (more than %s ago): its data cannot be trusted",
				h, g.hosts[h].lastSeen.UTC().Format(time.RFC3339), w.StaleAfter)
		}
	}
	if n.Host == to {
		v.block(RuleNotThere, "node %s already runs on host %s", name, to)
	}
	g.checkDevices(v, n, to)
	g.checkInterfaces(v, n, to)
	nodes := g.fork(w, func(m *forkNode) {
		if m.Name == name {
			m.Host = to
		}
	})
	checkPlacement(v, nodes, n, to)
	g.checkCapacity(v, nodes, to)
	for i := range nodes {
		if o := &nodes[i]; o.Name != name && !o.up() {
			v.block(RuleOthersInService, "node %s on host %s is %s: migrate one node at a time, only while the others are in service", o.Name, o.Host, o.state(g))
			v.Blockers[len(v.Blockers)-1].Node = o.Name
		}
	}
	return v.finish(), nil
}

// checkDevices: every BLOCK_DEVICE_* of the node, resolved on its host to
// a WWID, must be visible on the target under the same path, since the
// node's config moves verbatim.
func (g *Graph) checkDevices(v *Verdict, n *Node, to string) {
	for _, d := range n.Devices {
		src := g.device(n.Host, d.Path)
		wwid := ""
		if src != nil {
			wwid = src.Fields[wire.FieldWWID]
		}
		if wwid == "" {
			v.block(RuleSharedDevices, "%s = %s: host %s reports no device with a WWID at that path, so its LUN cannot be identified", d.Key, d.Path, n.Host)
			continue
		}
		ids := g.luns[wwid][to]
		if len(ids) == 0 {
			v.block(RuleSharedDevices, "%s = %s: host %s does not see WWID %s", d.Key, d.Path, to, wwid)
			continue
		}
		if dst := g.device(to, d.Path); dst == nil || dst.Fields[wire.FieldWWID] != wwid {
			v.block(RuleSharedDevices, "%s = %s: host %s sees WWID %s, but as %s, not at that path", d.Key, d.Path, to, wwid, g.aliasesOf(to, ids))
		}
	}
}

func (g *Graph) aliasesOf(host string, ids []string) string {
	var out []string
	for _, id := range ids {
		out = append(out, strings.Fields(g.hosts[host].entities[wire.KindBlock][id].Fields[wire.FieldAliases])...)
	}
	if len(out) == 0 {
		return "/dev/" + strings.Join(ids, ", /dev/")
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func (g *Graph) checkInterfaces(v *Verdict, n *Node, to string) {
	links := g.hosts[to].entities[wire.KindLink]
	for _, ifc := range n.Interfaces {
		l := links[ifc.Name]
		switch {
		case l == nil:
			v.block(RuleInterfaces, "%s = %s: host %s has no interface %s", ifc.Key, ifc.Name, to, ifc.Name)
		case l.Fields[wire.FieldAdminState] == "down":
			v.block(RuleInterfaces, "%s = %s: interface %s of host %s is administratively down", ifc.Key, ifc.Name, ifc.Name, to)
		case l.Fields[wire.FieldOperState] == "down" || l.Fields[wire.FieldOperState] == "lowerlayerdown":
			// An interface that is up but has no carrier would leave
			// the node off its network just the same.
			v.block(RuleInterfaces, "%s = %s: interface %s of host %s is up but %s (no carrier)", ifc.Key, ifc.Name, ifc.Name, to, l.Fields[wire.FieldOperState])
		}
	}
}

// checkPlacement applies the runbook's placement rules to the forked
// nodes: one storage node per host, and not every node of a type of a
// site on one host.
func checkPlacement(v *Verdict, nodes []forkNode, moved *Node, to string) {
	if moved.Type == TypeStorage {
		for i := range nodes {
			if o := &nodes[i]; o.Host == to && o.Type == TypeStorage && o.Name != moved.Name {
				v.block(RuleOneStorage, "host %s already has storage node %s: run at most one storage node per host", to, o.Name)
			}
		}
	}
	var same []string
	all := true
	for i := range nodes {
		if o := &nodes[i]; o.Type == moved.Type && o.Site == moved.Site {
			same = append(same, o.Name)
			all = all && o.Host == to
		}
	}
	if len(same) > 1 && all {
		v.block(RuleTypeSpread, "all %d %s nodes of site %s (%s) would be on host %s", len(same), moved.Type, moved.Site, strings.Join(same, ", "), to)
	}
}

func (g *Graph) checkCapacity(v *Verdict, nodes []forkNode, to string) {
	mem := g.memory(to)
	if mem <= 0 {
		v.block(RuleCapacity, "host %s does not report memory_bytes: its capacity cannot be checked", to)
		return
	}
	var need int64
	var names []string
	for i := range nodes {
		if o := &nodes[i]; o.Host == to {
			need += o.MaxRAM
			names = append(names, o.Name)
		}
	}
	if need > mem {
		v.block(RuleCapacity, "host %s has %s of memory; its nodes would need %s (MAXIMUM_RAM of %s)",
			to, humanize.IBytes(uint64(mem)), humanize.IBytes(uint64(need)), strings.Join(names, ", "))
	}
}

// OkToStop evaluates stopping every node on host.
func (g *Graph) OkToStop(w WhatIf, host string) (Verdict, error) {
	if g.hosts[host] == nil {
		return Verdict{}, fmt.Errorf("host %q: %w", host, ErrNotFound)
	}
	v := &Verdict{Check: "ok-to-stop", Host: host, Rules: stopRules, Blockers: []Blocker{}, At: w.Now}
	if !g.fresh(w, host) {
		v.block(RuleFreshData, "host %s has not reported since %s (more than %s ago): what runs there is unknown",
			host, g.hosts[host].lastSeen.UTC().Format(time.RFC3339), w.StaleAfter)
	}
	var here []*forkNode
	nodes := g.fork(w, func(m *forkNode) {
		if m.Host == host {
			m.RunState = "Not-Running"
		}
	})
	for i := range nodes {
		o := &nodes[i]
		if o.Host == host {
			here = append(here, o)
		} else if !o.up() {
			v.block(RuleOthersInService, "node %s on host %s is already %s", o.Name, o.Host, o.state(g))
			v.Blockers[len(v.Blockers)-1].Node = o.Name
		}
	}
	for _, typ := range typesOf(here) {
		if !anyUp(nodes, func(o *forkNode) bool { return o.Type == typ }) {
			v.block(RuleTypeElsewhere, "no %s would keep running elsewhere than host %s", typ, host)
		}
	}
	for _, site := range storageSites(here) {
		total, up := 0, 0
		for i := range nodes {
			if o := &nodes[i]; o.Type == TypeStorage && o.Site == site {
				total++
				if o.up() {
					up++
				}
			}
		}
		if need := total/2 + 1; up < need {
			v.block(RuleSiteStorage, "site %s would keep %d of its %d storage nodes running; it needs %d (a majority)", site, up, total, need)
		}
	}
	return v.finish(), nil
}

func typesOf(nodes []*forkNode) []string {
	set := map[string]bool{}
	for _, n := range nodes {
		set[n.Type] = true
	}
	return sortedSet(set)
}

func storageSites(nodes []*forkNode) []string {
	set := map[string]bool{}
	for _, n := range nodes {
		if n.Type == TypeStorage {
			set[n.Site] = true
		}
	}
	return sortedSet(set)
}

func sortedSet(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func anyUp(nodes []forkNode, match func(*forkNode) bool) bool {
	for i := range nodes {
		if match(&nodes[i]) && nodes[i].up() {
			return true
		}
	}
	return false
}
