package model

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// Forking: a what-if scenario runs on a copy of the live graph that its
// changes edit (nodes moved or stopped, components failed, hosts added),
// and the checks run on the copy as on the live graph: check-migrate and
// ok-to-stop are the same rules applied to a fork. Nothing of a fork is
// stored.

// Fork returns a copy of the graph that can be changed without touching
// g. Hosts are copied when a change first touches them, so a fork of a
// large fleet costs little more than its top-level maps.
func (g *Graph) Fork() *Graph {
	return &Graph{hosts: maps.Clone(g.hosts), nodes: maps.Clone(g.nodes), luns: maps.Clone(g.luns), topo: g.topo,
		forked: true, owned: map[string]bool{}, lunOwned: map[string]bool{}, nodeOwned: map[string]bool{},
		failed: slices.Clone(g.failed), nodeList: g.nodeList, hostGen: g.hostGen, base: g.losses.Load()}
}

// ownNode makes the fork's map of the instances of node name its own
// before a change writes it.
func (g *Graph) ownNode(name string) {
	if !g.forked || g.nodeOwned[name] {
		return
	}
	g.nodeOwned[name] = true
	g.nodes[name] = maps.Clone(g.nodes[name])
}

// own makes host id's view the fork's own before a change writes it.
func (g *Graph) own(id string) {
	if !g.forked || g.owned[id] {
		return
	}
	g.owned[id] = true
	h := g.hosts[id]
	if h == nil {
		return
	}
	c := &hostView{id: id, entities: map[wire.Kind]map[string]*Entity{}, alias: maps.Clone(h.alias), lastSeen: h.lastSeen}
	for k, m := range h.entities {
		c.entities[k] = maps.Clone(m)
	}
	g.hosts[id] = c
}

// ownLUN makes the fork's map of the hosts that see WWID w its own
// before a change writes it.
func (g *Graph) ownLUN(w string) {
	if !g.forked || g.lunOwned[w] {
		return
	}
	g.lunOwned[w] = true
	m := make(map[string][]string, len(g.luns[w]))
	for h, ids := range g.luns[w] {
		m[h] = slices.Clone(ids)
	}
	g.luns[w] = m
}

// Step is one change of a what-if scenario; exactly one field is set.
type Step struct {
	Fail string `json:"fail,omitempty"` // a component, as impact names it: host/H, switch/SW, rack/R, wwid/W, blockdev/H/DEV
	Stop string `json:"stop,omitempty"` // a host whose nodes all stop
	Move string `json:"move,omitempty"` // NODE=HOST
	// AddHost is a new host as its agent would describe it: the events of
	// its first snapshot (`storagegrid agent once` prints them).
	AddHost []wire.Event `json:"add_host,omitempty"`
}

func (s Step) String() string {
	switch {
	case s.Fail != "":
		return "fail " + s.Fail
	case s.Stop != "":
		return "stop " + s.Stop
	case s.Move != "":
		node, host, _ := strings.Cut(s.Move, "=")
		return "move " + node + " to " + host
	case len(s.AddHost) > 0:
		return "add host " + s.AddHost[0].Host
	}
	return "nothing"
}

// StepResult is what one step found: the check it had to pass (for a
// move, check-migrate; for a stop, ok-to-stop) and, for a failure, the
// running nodes it took down.
type StepResult struct {
	Step      string   `json:"step"`
	Verdict   *Verdict `json:"verdict,omitempty"`
	NodesDown []string `json:"nodes_down"`
}

// ScenarioReport is the answer of a what-if scenario.
type ScenarioReport struct {
	Steps []StepResult `json:"steps"`
	// Safe: every move and stop passed its check, in order, on the model
	// as the steps before it left it.
	Safe bool `json:"safe"`
	// Failures compares the single failures that break a rule after the
	// scenario with those of the live model.
	Failures FailureDiff `json:"failures"`
	At       time.Time   `json:"evaluated_at"`
}

// FailureDiff is what a scenario changes in the failure analysis.
type FailureDiff struct {
	Baseline []Broken  `json:"baseline"` // rules broken after the scenario with nothing more failed
	New      []Failure `json:"new"`      // failures that break a rule after the scenario and not now
	Gone     []Failure `json:"gone"`     // failures that break a rule now and not after it
}

// Scenario forks the graph, applies the steps in order and evaluates
// each against the fork as it stands then. A step naming what the model
// does not know is an error (wrapping ErrNotFound where it is a name).
func (g *Graph) Scenario(w WhatIf, steps []Step) (ScenarioReport, error) {
	rep := ScenarioReport{Steps: []StepResult{}, Safe: true, At: w.Now}
	live, err := g.Failures(FailureQuery{Depth: 1}) // first, so that the fork starts from its losses
	if err != nil {
		return rep, err
	}
	f := g.Fork()
	for i, s := range steps {
		res, err := f.apply(w, s)
		if err != nil {
			return ScenarioReport{}, fmt.Errorf("step %d (%s): %w", i+1, s, err)
		}
		if res.Verdict != nil && !res.Verdict.Safe {
			rep.Safe = false
		}
		rep.Steps = append(rep.Steps, res)
	}
	after, err := f.Failures(FailureQuery{Depth: 1})
	if err != nil {
		return rep, err
	}
	rep.Failures = FailureDiff{Baseline: after.Baseline, New: failuresNotIn(after.Failures, live.Failures), Gone: failuresNotIn(live.Failures, after.Failures)}
	return rep, nil
}

// failuresNotIn lists the failures of a that b lacks (by components and
// broken rules).
func failuresNotIn(a, b []Failure) []Failure {
	key := func(f Failure) string { return summaryKey(f) }
	have := map[string]bool{}
	for _, f := range b {
		have[key(f)] = true
	}
	out := []Failure{}
	for _, f := range a {
		if !have[key(f)] {
			out = append(out, f)
		}
	}
	return out
}

func summaryKey(f Failure) string {
	var b strings.Builder
	for _, r := range f.Components {
		b.WriteString(r.String() + "+")
	}
	for _, x := range f.Broken {
		b.WriteString(" " + x.Rule + "@" + x.Subject)
	}
	return b.String()
}

// apply carries out one step on the fork g.
func (g *Graph) apply(w WhatIf, s Step) (StepResult, error) {
	res := StepResult{Step: s.String(), NodesDown: []string{}}
	set := 0
	for _, v := range []bool{s.Fail != "", s.Stop != "", s.Move != "", len(s.AddHost) > 0} {
		if v {
			set++
		}
	}
	if set != 1 {
		return res, fmt.Errorf("a step is one of fail, stop, move or add_host (%d given)", set)
	}
	switch {
	case s.Move != "":
		node, host, ok := strings.Cut(s.Move, "=")
		if !ok || node == "" || host == "" {
			return res, fmt.Errorf("move %q: want NODE=HOST", s.Move)
		}
		v, err := g.CheckMigrate(w, node, host)
		if err != nil {
			return res, err
		}
		res.Verdict = &v
		n := g.node(node)
		e := g.entity(Key{n.Host, wire.KindNode, node})
		g.remove(e.Key())
		g.put(&Entity{Host: host, Kind: wire.KindNode, ID: node, Fields: e.Fields, Since: w.Now})
	case s.Stop != "":
		v, err := g.OkToStop(w, s.Stop)
		if err != nil {
			return res, err
		}
		res.Verdict = &v
		for _, n := range g.Nodes() {
			if n.Host == s.Stop && n.InService() {
				res.NodesDown = append(res.NodesDown, n.Name)
			}
		}
		g.setRunState(s.Stop, res.NodesDown)
	case s.Fail != "":
		ref, err := g.ParseRef(s.Fail)
		if err != nil {
			return res, err
		}
		if err := g.fail(ref, &res); err != nil {
			return res, err
		}
	default:
		if err := g.addHost(w, s.AddHost); err != nil {
			return res, err
		}
	}
	g.refresh()
	return res, nil
}

// setRunState marks nodes of a host Not-Running.
func (g *Graph) setRunState(host string, names []string) {
	for _, name := range names {
		e := g.entity(Key{host, wire.KindNode, name})
		fields := maps.Clone(e.Fields)
		fields[wire.FieldRunState] = "Not-Running"
		g.put(&Entity{Host: host, Kind: wire.KindNode, ID: name, Fields: fields, Since: e.Since})
	}
}

// fail applies a component failure to the fork: the nodes it takes down
// stop, the links it takes down are down (so that check-migrate sees
// them so), the devices it takes down are gone, and the component stays
// failed for the failure analysis of the fork.
func (g *Graph) fail(ref Ref, res *StepResult) error {
	switch ref.Kind {
	case string(wire.KindHost), KindSwitch, KindRack, KindWWID, string(wire.KindBlock):
	default:
		return fmt.Errorf("%s: a failure is of a host, switch, rack, wwid or blockdev", ref)
	}
	g.failed = append(g.failed, ref)
	a := g.newAnalysis()
	fs := &failSet{refs: g.failed}
	for _, host := range g.affectedHosts(ref) {
		l := g.evalHost(host, fs)
		var names []string
		for _, n := range a.lostOn(host, l) {
			if node := a.nodes[n.idx]; node.InService() {
				names = append(names, node.Name)
			}
		}
		res.NodesDown = append(res.NodesDown, names...)
		g.setRunState(host, names)
		for _, link := range slices.Sorted(maps.Keys(l.links)) {
			e := g.entity(Key{host, wire.KindLink, link})
			fields := maps.Clone(e.Fields)
			fields[wire.FieldOperState] = "down"
			g.put(&Entity{Host: host, Kind: wire.KindLink, ID: link, Fields: fields, Since: e.Since})
		}
		for dev := range l.devices {
			g.remove(Key{host, wire.KindBlock, dev})
		}
	}
	slices.Sort(res.NodesDown)
	return nil
}

// addHost puts a new host, described by its first snapshot, in the fork.
func (g *Graph) addHost(w WhatIf, evs []wire.Event) error {
	host := evs[0].Host
	if err := wire.ValidHostID(host); err != nil {
		return err
	}
	if g.hosts[host] != nil {
		return fmt.Errorf("host %s is already in the model", host)
	}
	for i := range evs {
		e := &evs[i]
		if err := e.Validate(host); err != nil {
			return fmt.Errorf("add_host: %w", err)
		}
		switch e.Op {
		case wire.OpSnapshot, wire.OpAdded:
			if e.Kind != wire.KindMetric {
				g.put(&Entity{Host: host, Kind: e.Kind, ID: e.ID, Fields: e.Fields, Since: w.Now})
			}
		case wire.OpSnapshotEnd, wire.OpSample:
		default:
			return fmt.Errorf("add_host: seq %d: op %s: a new host is described by a snapshot", e.Seq, e.Op)
		}
	}
	g.host(host).lastSeen = w.Now
	return nil
}
