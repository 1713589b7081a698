package model

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// Patch planning: the order in which hosts can be taken down one wave at
// a time (to patch and reboot them), which of their nodes move away
// first and where, and which stop in place, worked out on a fork of the
// live model so that every step is checked as the model will stand when
// it is taken, not as it stands now.

// RuleKeepRunning blocks a host whose node of a kept type (--keep-running)
// has nowhere to go.
const RuleKeepRunning = "keep-running"

// PatchQuery says what to plan.
type PatchQuery struct {
	Hosts       []string `json:"hosts"`        // in this order; empty: every host, by name
	KeepRunning []string `json:"keep_running"` // node types moved to another host rather than stopped
	MaxParallel int      `json:"max_parallel"` // hosts down at once; 0 is 1
	Allow       []string `json:"allow"`        // failure rules the operator accepts being broken while a wave is down
}

// PatchPlan is a plan: waves of hosts, each host's moves and stops.
type PatchPlan struct {
	Created     time.Time   `json:"created"`
	Query       PatchQuery  `json:"query"`
	Feasible    bool        `json:"feasible"`
	Waves       []PatchWave `json:"waves"`
	Blocked     string      `json:"blocked_host,omitempty"` // the host no wave can take, when not feasible
	Blockers    []Blocker   `json:"blockers"`               // why
	Unpatchable []string    `json:"unpatchable,omitempty"`  // hosts after the blocked one, not planned
}

// PatchWave is hosts taken down together.
type PatchWave struct {
	Hosts []PatchHost `json:"hosts"`
}

// PatchHost is one host's part of a wave.
type PatchHost struct {
	Host   string        `json:"host"`
	BootID string        `json:"boot_id,omitempty"` // when planned: the executor waits for another
	Kernel string        `json:"kernel,omitempty"`
	Moves  []PlannedMove `json:"moves"` // before the host goes down; moved back after it is up
	Stops  []string      `json:"stops"` // nodes stopped in place while it is down
}

// PlannedMove is a node moved off a host for its patch.
type PlannedMove struct {
	Node string `json:"node"`
	To   string `json:"to"`
}

// PlanPatch plans patching the hosts of q. A host that cannot be taken
// down, even alone, with every node of a kept type moved away, ends the
// plan: it is not feasible, and Blocked and Blockers say why.
func (g *Graph) PlanPatch(w WhatIf, q PatchQuery) (PatchPlan, error) {
	if q.MaxParallel <= 0 {
		q.MaxParallel = 1
	}
	for _, r := range q.Allow {
		if _, ok := ruleWeight[r]; !ok {
			return PatchPlan{}, fmt.Errorf("allow %q: not a failure rule (%s)", r, strings.Join(slices.Sorted(maps.Keys(ruleWeight)), ", "))
		}
	}
	hosts := q.Hosts
	if len(hosts) == 0 {
		hosts = slices.Sorted(maps.Keys(g.hosts))
	}
	for _, h := range hosts {
		if g.hosts[h] == nil {
			return PatchPlan{}, fmt.Errorf("host %q: %w", h, ErrNotFound)
		}
	}
	q.Hosts = hosts
	p := PatchPlan{Created: w.Now, Query: q, Feasible: true, Waves: []PatchWave{}, Blockers: []Blocker{}}
	f := g.Fork()
	patched := map[string]bool{}
	left := slices.Clone(hosts)
	for len(left) > 0 {
		var wave PatchWave
		var down []string // the wave's hosts, in the order taken
		var rest []string
		var firstBlockers []Blocker
		for _, h := range left {
			if len(down) == q.MaxParallel {
				rest = append(rest, h)
				continue
			}
			trial := f.Fork()
			ph, blockers := trial.takeDown(w, q, h, down, patched, hosts)
			if len(blockers) > 0 {
				if len(down) == 0 && firstBlockers == nil {
					firstBlockers = blockers
				}
				rest = append(rest, h)
				continue
			}
			f = trial
			down = append(down, h)
			wave.Hosts = append(wave.Hosts, ph)
		}
		if len(down) == 0 {
			p.Feasible, p.Blocked, p.Blockers, p.Unpatchable = false, left[0], firstBlockers, left[1:]
			return p, nil
		}
		for i := range wave.Hosts {
			f.bringBack(w, &wave.Hosts[i])
			patched[wave.Hosts[i].Host] = true
		}
		p.Waves = append(p.Waves, wave)
		left = rest
	}
	return p, nil
}

// takeDown plans host h's part of a wave on the fork g, where the hosts
// in down are already down: it moves the nodes of kept types to the
// first host that passes check-migrate (patched hosts first, then hosts
// outside the plan, then the rest, each by name), stops the others, and
// checks the model as it then stands. It returns the blockers when h
// cannot go down now.
func (g *Graph) takeDown(w WhatIf, q PatchQuery, h string, down []string, patched map[string]bool, planned []string) (PatchHost, []Blocker) {
	ph := PatchHost{Host: h, Moves: []PlannedMove{}, Stops: []string{}}
	if e := g.entity(Key{h, wire.KindHost, h}); e != nil {
		ph.BootID, ph.Kernel = e.Fields[wire.FieldBootID], e.Fields[wire.FieldKernel]
	}
	inWave := func(host string) bool { return host == h || slices.Contains(down, host) }
	// A node the plan itself stopped is not a reason to block: the wave
	// takes its hosts down together by design.
	planStopped := map[string]bool{}
	for _, n := range g.Nodes() {
		if slices.Contains(down, n.Host) && !n.InService() {
			planStopped[n.Name] = true
		}
	}
	keep := func(b Blocker) bool { return b.Rule != RuleOthersInService || !planStopped[b.Node] }
	var blockers []Blocker
	targets := slices.Sorted(maps.Keys(g.hosts))
	slices.SortStableFunc(targets, func(a, b string) int { return targetRank(a, patched, planned) - targetRank(b, patched, planned) })
	for _, n := range g.Nodes() {
		if n.Host != h || !slices.Contains(q.KeepRunning, n.Type) {
			continue
		}
		moved := false
		var last []Blocker
		for _, t := range targets {
			if inWave(t) {
				continue
			}
			v, err := g.CheckMigrate(w, n.Name, t)
			if err != nil {
				continue
			}
			if bs := slices.DeleteFunc(v.Blockers, func(b Blocker) bool { return !keep(b) }); len(bs) > 0 {
				if last == nil {
					last = bs
				}
				continue
			}
			if _, err := g.apply(w, Step{Move: n.Name + "=" + t}); err != nil {
				continue
			}
			ph.Moves = append(ph.Moves, PlannedMove{Node: n.Name, To: t})
			moved = true
			break
		}
		if !moved {
			msg := fmt.Sprintf("node %s (%s, to keep running) has no host to move to", n.Name, n.Type)
			if len(last) > 0 {
				msg += fmt.Sprintf(": the first candidate says %s: %s", last[0].Rule, last[0].Message)
			}
			blockers = append(blockers, Blocker{Rule: RuleKeepRunning, Message: msg})
		}
	}
	if len(blockers) > 0 {
		return ph, blockers
	}
	v, err := g.OkToStop(w, h)
	if err != nil {
		return ph, []Blocker{{Rule: RuleFreshData, Message: err.Error()}}
	}
	blockers = slices.DeleteFunc(v.Blockers, func(b Blocker) bool { return !keep(b) })
	for _, n := range g.Nodes() {
		if n.Host == h && n.InService() {
			ph.Stops = append(ph.Stops, n.Name)
		}
	}
	g.setRunState(h, ph.Stops)
	g.refresh()
	// The failure rules, as the model stands with the wave down.
	for _, b := range g.newAnalysis().baseline() {
		if !slices.Contains(q.Allow, b.Rule) {
			blockers = append(blockers, Blocker{Rule: b.Rule, Message: b.Message})
		}
	}
	return ph, blockers
}

// targetRank orders move targets: hosts already patched, then hosts the
// plan leaves alone, then hosts still to patch (a node moved there would
// move again).
func targetRank(h string, patched map[string]bool, planned []string) int {
	switch {
	case patched[h]:
		return 0
	case !slices.Contains(planned, h):
		return 1
	}
	return 2
}

// bringBack is the fork after a host's patch: its stopped nodes run
// again and its moved nodes come home.
func (g *Graph) bringBack(w WhatIf, ph *PatchHost) {
	for _, name := range ph.Stops {
		e := g.entity(Key{ph.Host, wire.KindNode, name})
		fields := maps.Clone(e.Fields)
		fields[wire.FieldRunState] = Running
		g.put(&Entity{Host: ph.Host, Kind: wire.KindNode, ID: name, Fields: fields, Since: w.Now})
	}
	for _, m := range ph.Moves {
		e := g.entity(Key{m.To, wire.KindNode, m.Node})
		g.remove(e.Key())
		g.put(&Entity{Host: ph.Host, Kind: wire.KindNode, ID: m.Node, Fields: e.Fields, Since: w.Now})
	}
	g.refresh()
}
