package model

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/storagegrid/storagegrid/wire"
)

// Failure analysis: which single components (and pairs of them) would,
// by failing, break a rule of the grid. A failed component takes down
// what depends on it and nothing that has another way: a host with its
// rack; a link whose every LLDP neighbour failed, a bond when all its
// members are down, a VLAN with its parent; a device with its LUN, a
// multipath device only when every path is down. A node is lost with its
// host, with any of its block devices, or with its grid network
// interface. The rules are then evaluated on the nodes still running.

// The failure rules; RuleSiteStorage (whatif.go) is one of them.
const (
	RuleTypeAtSite   = "type-at-site"      // each node type running at a site keeps a running instance there
	RulePrimaryAdmin = "primary-admin"     // the primary admin node keeps running
	RuleNodeDevice   = "node-block-device" // no running node loses a block device
	RuleNodeGrid     = "node-grid-network" // no running node loses its grid network interface
)

// ruleWeight orders failures, worst first: a site losing its storage
// quorum outweighs anything, then the primary admin node, then a node
// type gone from a site, then single nodes.
var ruleWeight = map[string]int{RuleSiteStorage: 1000, RulePrimaryAdmin: 300, RuleTypeAtSite: 100, RuleNodeGrid: 10, RuleNodeDevice: 10}

// FailureKinds are the component kinds failures enumerates, and the
// default ones (a LUN is never redundant, so every LUN a node uses would
// be listed: devices are enumerated only when asked).
var (
	FailureKinds        = []string{string(wire.KindHost), KindSwitch, KindRack, "device"}
	DefaultFailureKinds = []string{string(wire.KindHost), KindSwitch, KindRack}
)

// Broken is one rule a failure breaks, for one subject (a site, a site's
// node type, a node).
type Broken struct {
	Rule    string `json:"rule"`
	Subject string `json:"subject"`
	Site    string `json:"site,omitempty"`
	Message string `json:"message"`
}

// Failure is a set of components whose failure breaks rules.
type Failure struct {
	Components []Ref     `json:"components"`
	Labels     []string  `json:"labels"` // the components as people name them (a switch by its system name)
	Broken     []Broken  `json:"broken"`
	NodesLost  []string  `json:"nodes_lost"` // the running nodes it takes down
	Severity   int       `json:"severity"`
	lost       []nodeRef // the nodes lost, for pairs
}

// FailureQuery chooses what Failures enumerates.
type FailureQuery struct {
	Depth int      // 1: single failures; 2: also pairs
	Site  string   // only failures that break a rule at this site
	Kinds []string // component kinds; nil: DefaultFailureKinds
}

// FailureReport is the answer of Failures.
type FailureReport struct {
	Depth      int       `json:"depth"`
	Kinds      []string  `json:"kinds"`
	Site       string    `json:"site,omitempty"`
	Components int       `json:"components"` // single components considered
	Pairs      int       `json:"pairs"`      // pairs evaluated in full (the others cannot break a rule neither breaks alone)
	Baseline   []Broken  `json:"baseline"`   // rules already broken with nothing failed
	Failures   []Failure `json:"failures"`
}

// nodeRef is a node of the analysis by index, with why it is lost.
type nodeRef struct {
	idx  int32
	rule string // RuleNodeDevice, RuleNodeGrid, or "" (its host is down)
	why  string
}

// failSet is a set of failed components.
type failSet struct{ refs []Ref }

func (f *failSet) has(kind, host, id string) bool {
	for _, r := range f.refs {
		if r.Kind == kind && r.ID == id && (r.Host == "" || r.Host == host) {
			return true
		}
	}
	return false
}

// analysis holds the fleet as the failure rules see it: every node by
// index, and the counts of running nodes per site and type.
type analysis struct {
	g       *Graph
	nodes   []*Node
	index   map[string]int32
	types   []string       // node types by index
	typeIdx map[string]int // type -> index
	sites   []string
	siteIdx map[string]int
	nsite   []int // per node: site index
	ntype   []int // per node: type index
	// per site: storage nodes in all, running storage nodes, running
	// nodes per type
	storTotal, storUp []int
	upByType          [][]int
}

// newAnalysis returns the analysis of the graph's current nodes: the one
// made before while the node list is the same (listNodes makes a new
// list on every change), else a new one.
func (g *Graph) newAnalysis() *analysis {
	nodes := g.Nodes()
	if a := g.analysis.Load(); a != nil && len(a.nodes) == len(nodes) && (len(nodes) == 0 || &a.nodes[0] == &nodes[0]) {
		return a
	}
	a := g.analyse(nodes)
	g.analysis.Store(a) // concurrent readers may store alike: the same answers
	return a
}

func (g *Graph) analyse(nodes []*Node) *analysis {
	a := &analysis{g: g, nodes: nodes, index: make(map[string]int32, len(nodes)), typeIdx: map[string]int{}, siteIdx: map[string]int{}}
	for i, n := range a.nodes {
		a.index[n.Name] = int32(i)
		if _, ok := a.typeIdx[n.Type]; !ok {
			a.typeIdx[n.Type] = len(a.types)
			a.types = append(a.types, n.Type)
		}
		if _, ok := a.siteIdx[n.Site]; !ok {
			a.siteIdx[n.Site] = len(a.sites)
			a.sites = append(a.sites, n.Site)
		}
	}
	a.storTotal, a.storUp = make([]int, len(a.sites)), make([]int, len(a.sites))
	a.upByType = make([][]int, len(a.sites))
	for s := range a.sites {
		a.upByType[s] = make([]int, len(a.types))
	}
	a.nsite, a.ntype = make([]int, len(a.nodes)), make([]int, len(a.nodes))
	for i, n := range a.nodes {
		s, t := a.siteIdx[n.Site], a.typeIdx[n.Type]
		a.nsite[i], a.ntype[i] = s, t
		if n.Type == TypeStorage {
			a.storTotal[s]++
		}
		if n.InService() {
			a.upByType[s][t]++
			if n.Type == TypeStorage {
				a.storUp[s]++
			}
		}
	}
	return a
}

// affectedHosts lists the hosts a component's failure can touch.
func (g *Graph) affectedHosts(r Ref) []string {
	switch r.Kind {
	case string(wire.KindHost), string(wire.KindBlock):
		return []string{r.Host}
	case KindRack:
		return g.topo.racks[r.ID]
	case KindSwitch:
		var out []string
		for _, p := range g.topo.switches[r.ID].Ports {
			out = append(out, p.Host)
		}
		slices.Sort(out)
		return slices.Compact(out)
	case KindWWID:
		var out []string
		for h := range g.luns[r.ID] {
			out = append(out, h)
		}
		slices.Sort(out)
		return out
	}
	return nil
}

// hostLoss is what a set of failures takes down on one host.
type hostLoss struct {
	down    string            // why the host itself is down; "" when it is up
	links   map[string]string // link -> what took it down
	devices map[string]string // blockdev id -> what took it down
}

// evalHost works out what f takes down on host id.
func (g *Graph) evalHost(id string, f *failSet) hostLoss {
	h := g.hosts[id]
	var l hostLoss
	if f.has(string(wire.KindHost), id, id) {
		l.down = "host " + id + " down"
		return l
	}
	if r := g.placement(id, wire.FieldRack); r != "" && f.has(KindRack, "", r) {
		l.down = "rack " + r + " down"
		return l
	}
	l.links, l.devices = map[string]string{}, map[string]string{}
	for link, chassis := range g.topo.uplinks[id] {
		dead := 0
		for _, c := range chassis {
			if f.has(KindSwitch, "", c) {
				dead++
			}
		}
		if dead == len(chassis) {
			l.links[link] = "switch " + g.switchLabel(chassis[0]) + " down"
		}
	}
	for changed := len(l.links) > 0; changed; {
		changed = false
		for name, e := range h.entities[wire.KindLink] {
			if _, ok := l.links[name]; ok {
				continue
			}
			if p := e.Fields[wire.FieldParent]; p != "" {
				if _, ok := l.links[p]; ok {
					l.links[name], changed = "its parent "+p+" down", true
				}
				continue
			}
			if slaves := slavesOf(h, name); len(slaves) > 0 && allIn(slaves, l.links) {
				l.links[name], changed = "all its members ("+strings.Join(slaves, ", ")+") down", true
			}
		}
	}
	for dev, e := range h.entities[wire.KindBlock] {
		if w := e.Fields[wire.FieldWWID]; w != "" && f.has(KindWWID, "", w) {
			l.devices[dev] = "LUN " + w + " failed"
		} else if f.has(string(wire.KindBlock), id, dev) {
			l.devices[dev] = "device failed"
		}
	}
	for changed := len(l.devices) > 0; changed; {
		changed = false
		for dev, e := range h.entities[wire.KindBlock] {
			slaves := strings.Fields(e.Fields[wire.FieldSlaves])
			if _, ok := l.devices[dev]; ok || len(slaves) == 0 {
				continue
			}
			down := 0
			for _, s := range slaves {
				if _, ok := l.devices[s]; ok {
					down++
				}
			}
			// A multipath device lives while one path does; anything
			// else stacked (LVM, crypt) needs all that is under it.
			if down == len(slaves) || down > 0 && e.Fields[wire.FieldType] != "mpath" {
				l.devices[dev], changed = "under it "+strings.Join(slaves, ", ")+" down", true
			}
		}
	}
	return l
}

func allIn(names []string, m map[string]string) bool {
	for _, n := range names {
		if _, ok := m[n]; !ok {
			return false
		}
	}
	return true
}

// lostOn lists the nodes of host id that l loses, with why.
func (a *analysis) lostOn(id string, l hostLoss) []nodeRef {
	g := a.g
	var out []nodeRef
	for _, name := range slices.Sorted(maps.Keys(g.hosts[id].entities[wire.KindNode])) {
		idx, ok := a.index[name]
		if !ok || a.nodes[idx].Host != id {
			continue // another host's instance is the node
		}
		n := a.nodes[idx]
		if l.down != "" {
			out = append(out, nodeRef{idx: idx, why: l.down})
			continue
		}
		if r, ok := a.deviceLoss(n, l); ok {
			out = append(out, r)
			continue
		}
		for _, ifc := range n.Interfaces {
			if ifc.Key != "GRID_NETWORK_TARGET" {
				continue
			}
			if why, down := l.links[ifc.Name]; down {
				out = append(out, nodeRef{idx: idx, rule: RuleNodeGrid, why: fmt.Sprintf("GRID_NETWORK_TARGET = %s: %s", ifc.Name, why)})
			}
		}
	}
	return out
}

func (a *analysis) deviceLoss(n *Node, l hostLoss) (nodeRef, bool) {
	h := a.g.hosts[n.Host]
	for _, d := range n.Devices {
		if why, down := l.devices[h.alias[d.Path]]; down && h.alias[d.Path] != "" {
			return nodeRef{idx: a.index[n.Name], rule: RuleNodeDevice, why: fmt.Sprintf("%s = %s: %s", d.Key, d.Path, why)}, true
		}
	}
	return nodeRef{}, false
}

// lose works out the nodes f loses on the given hosts, sorted by index,
// each once.
func (a *analysis) lose(f *failSet, hosts []string) []nodeRef {
	var out []nodeRef
	for _, h := range hosts {
		if a.g.hosts[h] != nil {
			out = append(out, a.lostOn(h, a.g.evalHost(h, f))...)
		}
	}
	slices.SortFunc(out, func(x, y nodeRef) int { return int(x.idx - y.idx) })
	return slices.CompactFunc(out, func(x, y nodeRef) bool { return x.idx == y.idx })
}

// judge evaluates the rules with the lost nodes down.
func (a *analysis) judge(lost []nodeRef) []Broken {
	var out []Broken
	storLost := map[int]int{}
	typeLost := map[[2]int]int{}
	for _, r := range lost {
		n := a.nodes[r.idx]
		if !n.InService() {
			continue // already down: the baseline's concern
		}
		s, t := a.nsite[r.idx], a.ntype[r.idx]
		if n.Type == TypeStorage {
			storLost[s]++
		}
		typeLost[[2]int{s, t}]++
		if n.primaryAdmin {
			out = append(out, Broken{Rule: RulePrimaryAdmin, Subject: "node/" + n.Name, Site: n.Site,
				Message: fmt.Sprintf("primary admin node %s lost (%s)", n.Name, r.why)})
		}
		if r.rule != "" {
			what := "a block device"
			if r.rule == RuleNodeGrid {
				what = "its grid network"
			}
			out = append(out, Broken{Rule: r.rule, Subject: "node/" + n.Name, Site: n.Site, Message: fmt.Sprintf("node %s loses %s: %s", n.Name, what, r.why)})
		}
	}
	for s, k := range storLost {
		total, up := a.storTotal[s], a.storUp[s]
		if need := total/2 + 1; up >= need && up-k < need {
			out = append(out, Broken{Rule: RuleSiteStorage, Subject: "site/" + a.sites[s], Site: a.sites[s],
				Message: fmt.Sprintf("site %s would keep %d of its %d storage nodes running; it needs %d (a majority)", a.sites[s], up-k, total, need)})
		}
	}
	for st, k := range typeLost {
		if up := a.upByType[st[0]][st[1]]; up > 0 && up-k <= 0 {
			site, typ := a.sites[st[0]], a.types[st[1]]
			out = append(out, Broken{Rule: RuleTypeAtSite, Subject: "site/" + site + "/" + typ, Site: site,
				Message: fmt.Sprintf("no %s would keep running at site %s (%d running now)", typ, site, up)})
		}
	}
	sortBroken(out)
	return out
}

func sortBroken(b []Broken) {
	sort.Slice(b, func(i, j int) bool {
		if wi, wj := ruleWeight[b[i].Rule], ruleWeight[b[j].Rule]; wi != wj {
			return wi > wj
		}
		return b[i].Subject < b[j].Subject
	})
}

// baseline lists the rules broken with nothing failed: sites already
// short of their storage majority, a primary admin node not running.
func (a *analysis) baseline() []Broken {
	out := []Broken{}
	for s, site := range a.sites {
		if total, up := a.storTotal[s], a.storUp[s]; total > 0 && up < total/2+1 {
			out = append(out, Broken{Rule: RuleSiteStorage, Subject: "site/" + site, Site: site,
				Message: fmt.Sprintf("site %s runs %d of its %d storage nodes; it needs %d (a majority)", site, up, total, total/2+1)})
		}
	}
	for _, n := range a.nodes {
		if n.primaryAdmin && !n.InService() {
			out = append(out, Broken{Rule: RulePrimaryAdmin, Subject: "node/" + n.Name, Site: n.Site, Message: fmt.Sprintf("primary admin node %s is %s", n.Name, n.RunState)})
		}
	}
	sortBroken(out)
	return out
}

// components lists the components of the chosen kinds, in a stable order.
func (g *Graph) components(kinds []string) []Ref {
	var out []Ref
	for _, k := range kinds {
		switch k {
		case string(wire.KindHost):
			for id := range g.hosts {
				out = append(out, Ref{Kind: k, Host: id, ID: id})
			}
		case KindSwitch:
			for id := range g.topo.switches {
				out = append(out, Ref{Kind: k, ID: id})
			}
		case KindRack:
			for id := range g.topo.racks {
				out = append(out, Ref{Kind: k, ID: id})
			}
		case "device":
			// Every device a node uses: its LUN when it has a WWID.
			seen := map[Ref]bool{}
			for _, n := range g.Nodes() {
				for _, d := range n.Devices {
					e := g.device(n.Host, d.Path)
					if e == nil {
						continue
					}
					r := Ref{Kind: string(wire.KindBlock), Host: n.Host, ID: e.ID}
					if w := e.Fields[wire.FieldWWID]; w != "" {
						r = Ref{Kind: KindWWID, ID: w}
					}
					if !seen[r] {
						seen[r] = true
						out = append(out, r)
					}
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Ref) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Host, b.Host), strings.Compare(a.ID, b.ID))
	})
	return out
}

// touch notes a write to host id, for the loss cache.
func (g *Graph) touch(id string) {
	if g.forked {
		return // owned says it
	}
	if g.hostGen == nil {
		g.hostGen = map[string]uint64{}
	}
	g.gen++
	g.hostGen[id] = g.gen
}

// lossCache holds what each component's failure alone loses, as of
// write gen.
type lossCache struct {
	gen     uint64
	entries map[Ref]lossEntry
}

// lossEntry is one component's losses and the hosts they were read on.
type lossEntry struct {
	hosts []string
	lost  []lostNode
}

// lostNode is a nodeRef by name, which outlives an analysis.
type lostNode struct{ name, rule, why string }

// cachedLoss returns a component's losses from c when none of its hosts
// changed since.
func (g *Graph) cachedLoss(c *lossCache, r Ref, hosts []string) ([]lostNode, bool) {
	if c == nil {
		return nil, false
	}
	e, ok := c.entries[r]
	if !ok || !slices.Equal(e.hosts, hosts) {
		return nil, false
	}
	for _, h := range hosts {
		if g.hostGen[h] > c.gen || g.owned[h] {
			return nil, false
		}
	}
	return e.lost, true
}

// singleLoss is what component r alone takes down, from the cache when
// it can be.
func (a *analysis) singleLoss(cache, next *lossCache, r Ref, hosts []string) []nodeRef {
	g := a.g
	if lost, ok := g.cachedLoss(cache, r, hosts); ok {
		out := make([]nodeRef, 0, len(lost))
		for _, l := range lost {
			out = append(out, nodeRef{idx: a.index[l.name], rule: l.rule, why: l.why})
		}
		next.entries[r] = lossEntry{hosts: hosts, lost: lost}
		return out
	}
	out := a.lose(&failSet{refs: append(slices.Clone(g.failed), r)}, hosts)
	lost := make([]lostNode, len(out))
	for i, l := range out {
		lost[i] = lostNode{name: a.nodes[l.idx].Name, rule: l.rule, why: l.why}
	}
	next.entries[r] = lossEntry{hosts: hosts, lost: lost}
	return out
}

// single is one component's failure, precomputed for the pairs.
type single struct {
	ref    Ref
	hosts  []string
	lost   []nodeRef
	broken map[string]bool // rule + subject
	// per site index: running storage nodes lost, running nodes lost
	// per type
	stor  map[int]int
	types map[[2]int]int
}

// Failures enumerates the single (and, with depth 2, paired) component
// failures that break a rule, worst first. A pair is listed when it
// breaks a rule neither of its components breaks alone: the pairs that
// contain a component already listed would say nothing new.
func (g *Graph) Failures(q FailureQuery) (FailureReport, error) {
	if q.Depth == 0 {
		q.Depth = 1
	}
	if q.Depth != 1 && q.Depth != 2 {
		return FailureReport{}, fmt.Errorf("depth %d: want 1 or 2", q.Depth)
	}
	if q.Kinds == nil {
		q.Kinds = DefaultFailureKinds
	}
	for _, k := range q.Kinds {
		if !slices.Contains(FailureKinds, k) {
			return FailureReport{}, fmt.Errorf("kind %q: want %s", k, strings.Join(FailureKinds, ", "))
		}
	}
	a := g.newAnalysis()
	if _, ok := a.siteIdx[q.Site]; q.Site != "" && !ok {
		return FailureReport{}, fmt.Errorf("site %q: no node of that site: %w", q.Site, ErrNotFound)
	}
	rep := FailureReport{Depth: q.Depth, Kinds: q.Kinds, Site: q.Site, Baseline: a.baseline(), Failures: []Failure{}}
	comps := slices.DeleteFunc(g.components(q.Kinds), func(r Ref) bool { return slices.Contains(g.failed, r) })
	rep.Components = len(comps)
	cache := g.base
	if !g.forked {
		cache = g.losses.Load()
	}
	next := &lossCache{gen: g.gen, entries: make(map[Ref]lossEntry, len(comps))}
	if g.forked && cache != nil {
		next.gen = cache.gen
	}
	singles := make([]single, len(comps))
	for i, r := range comps {
		s := &singles[i]
		s.ref, s.hosts = r, g.affectedHosts(r)
		s.lost = a.singleLoss(cache, next, r, s.hosts)
		s.broken = map[string]bool{}
		s.stor, s.types = map[int]int{}, map[[2]int]int{}
		for _, l := range s.lost {
			n := a.nodes[l.idx]
			if !n.InService() {
				continue
			}
			st := a.nsite[l.idx]
			if n.Type == TypeStorage {
				s.stor[st]++
			}
			s.types[[2]int{st, a.ntype[l.idx]}]++
		}
		if b := a.judge(s.lost); len(b) > 0 {
			for _, x := range b {
				s.broken[x.Rule+" "+x.Subject] = true
			}
			rep.Failures = append(rep.Failures, a.failure([]Ref{r}, s.lost, b))
		}
	}
	if !g.forked && slices.Equal(q.Kinds, DefaultFailureKinds) {
		g.losses.Store(next) // concurrent readers may store alike: the same answers
	}
	if q.Depth == 2 {
		a.pairs(singles, &rep)
	}
	if q.Site != "" {
		rep.Failures = slices.DeleteFunc(rep.Failures, func(f Failure) bool {
			return !slices.ContainsFunc(f.Broken, func(b Broken) bool { return b.Site == q.Site })
		})
	}
	sort.SliceStable(rep.Failures, func(i, j int) bool {
		x, y := &rep.Failures[i], &rep.Failures[j]
		if x.Severity != y.Severity {
			return x.Severity > y.Severity
		}
		if len(x.NodesLost) != len(y.NodesLost) {
			return len(x.NodesLost) > len(y.NodesLost)
		}
		return len(x.Components) < len(y.Components)
	})
	return rep, nil
}

func (a *analysis) failure(refs []Ref, lost []nodeRef, broken []Broken) Failure {
	f := Failure{Components: refs, Broken: broken, NodesLost: []string{}}
	for _, r := range refs {
		label := r.String()
		if r.Kind == KindSwitch {
			label = "switch/" + a.g.switchLabel(r.ID)
		}
		f.Labels = append(f.Labels, label)
	}
	for _, l := range lost {
		if n := a.nodes[l.idx]; n.InService() {
			f.NodesLost = append(f.NodesLost, n.Name) // a node already down is not lost again
		}
	}
	slices.Sort(f.NodesLost)
	for _, b := range broken {
		f.Severity += ruleWeight[b.Rule]
	}
	return f
}

// pairs adds the pairs of components that break a rule neither breaks
// alone. Two components that touch no host in common lose disjoint sets
// of nodes, so only the site rules can newly break, and only where both
// lose running nodes at one site: a count per site and type decides
// whether that can happen before anything is evaluated. Components that
// share a host (two switches of a bond, a host and its rack) are
// evaluated together on the shared hosts.
func (a *analysis) pairs(singles []single, rep *FailureReport) {
	bySite := map[int][]int{}
	byHost := map[string][]int{}
	for i := range singles {
		s := &singles[i]
		for _, site := range sitesOf(s.types) {
			bySite[site] = append(bySite[site], i)
		}
		for _, h := range s.hosts {
			byHost[h] = append(byHost[h], i)
		}
	}
	stamp := make([]int, len(singles))
	for i := range singles {
		x := &singles[i]
		var partners []int
		mark := func(js []int) {
			for _, j := range js {
				if j > i && stamp[j] != i+1 {
					stamp[j] = i + 1
					partners = append(partners, j)
				}
			}
		}
		for _, h := range x.hosts {
			mark(byHost[h])
		}
		shared := len(partners)
		for _, site := range sitesOf(x.types) {
			mark(bySite[site])
		}
		for k, j := range partners {
			y := &singles[j]
			if k >= shared && !a.mayBreak(x, y) {
				continue
			}
			rep.Pairs++
			lost := mergeLost(x.lost, y.lost)
			if common := intersect(x.hosts, y.hosts); len(common) > 0 {
				lost = mergeLost(lost, a.lose(&failSet{refs: append(slices.Clone(a.g.failed), x.ref, y.ref)}, common))
			}
			var fresh []Broken
			for _, b := range a.judge(lost) {
				if key := b.Rule + " " + b.Subject; !x.broken[key] && !y.broken[key] {
					fresh = append(fresh, b)
				}
			}
			if len(fresh) > 0 {
				rep.Failures = append(rep.Failures, a.failure([]Ref{x.ref, y.ref}, lost, fresh))
			}
		}
	}
}

// mayBreak reports whether two components touching no common host could
// together break a site rule: their lost running nodes at a site add up
// to the storage nodes the site can spare, or to every running node of a
// type there.
func (a *analysis) mayBreak(x, y *single) bool {
	for st, n := range x.types {
		m := y.types[st]
		if m == 0 {
			continue
		}
		if n+m >= a.upByType[st[0]][st[1]] {
			return true
		}
		if s := st[0]; a.types[st[1]] == TypeStorage {
			if slack := a.storUp[s] - (a.storTotal[s]/2 + 1); x.stor[s]+y.stor[s] > slack {
				return true
			}
		}
	}
	return false
}

func sitesOf(m map[[2]int]int) []int {
	var out []int
	for k := range m {
		out = append(out, k[0])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// mergeLost unites two lists sorted by index; for a node in both, the
// first's reason stays.
func mergeLost(x, y []nodeRef) []nodeRef {
	out := make([]nodeRef, 0, len(x)+len(y))
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case j == len(y) || i < len(x) && x[i].idx < y[j].idx:
			out = append(out, x[i])
			i++
		case i == len(x) || y[j].idx < x[i].idx:
			out = append(out, y[j])
			j++
		default:
			out = append(out, x[i])
			i, j = i+1, j+1
		}
	}
	return out
}

func intersect(x, y []string) []string {
	var out []string
	for _, h := range x {
		if _, ok := slices.BinarySearch(y, h); ok {
			out = append(out, h)
		}
	}
	return out
}
