package model

import (
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// Graph is the in-memory cross-layer model: every current entity, indexed
// by the relations the queries and checks walk. It is not safe for
// concurrent use; the server guards it.
type Graph struct {
	hosts map[string]*hostView
	// nodes maps a node name to its node on each host that reports it
	// (more than one while a node is being moved).
	nodes map[string]map[string]*Node
	// luns maps a WWID to the hosts that see it and their device ids.
	luns map[string]map[string][]string
	// nodeList is Nodes' answer, rebuilt after node changes by the
	// writer, so that concurrent readers only read.
	nodeList   []*Node
	nodesDirty map[string]bool // names whose entry in nodeList is out of date
	// topo is the physical layer, rebuilt by refresh (topology.go).
	topo topology
	// A fork (fork.go) shares host views and LUN maps with the graph it
	// was made from until it writes them: owned lists the hosts and
	// lunOwned the WWIDs it has copied. failed lists the components its
	// scenario failed.
	forked    bool
	owned     map[string]bool
	lunOwned  map[string]bool
	nodeOwned map[string]bool
	failed    []Ref
	// The failure analysis keeps what each component's failure loses
	// (failures.go): gen counts the writes, hostGen has each host's last,
	// and an entry of losses stays good while its hosts do not change. A
	// fork reads base, its parent's, and counts its owned hosts as changed.
	gen     uint64
	hostGen map[string]uint64
	losses  atomic.Pointer[lossCache]
	base    *lossCache
	// analysis is the failure analysis's view of nodeList (failures.go).
	analysis atomic.Pointer[analysis]
}

// hostView is one host's entities and indexes.
type hostView struct {
	id       string
	entities map[wire.Kind]map[string]*Entity
	alias    map[string]string // device path -> blockdev id
	lastSeen time.Time
}

// NewGraph builds the graph from the store's current entities and the
// hosts' stream state.
func NewGraph(entities []Entity, streams []HostStream) *Graph {
	g := &Graph{hosts: map[string]*hostView{}, nodes: map[string]map[string]*Node{}, luns: map[string]map[string][]string{}}
	for i := range entities {
		g.put(&entities[i])
	}
	for _, s := range streams {
		g.host(s.Host).lastSeen = s.LastSeen
	}
	g.refresh()
	return g
}

// Apply updates the graph with the changes of an ingested batch of host,
// received at recv.
func (g *Graph) Apply(host string, changes []Change, recv time.Time) {
	g.host(host).lastSeen = recv
	for i := range changes {
		c := &changes[i]
		if c.Op == OpRemoved {
			g.remove(Key{c.Host, c.Kind, c.ID})
			continue
		}
		g.put(&Entity{Host: c.Host, Kind: c.Kind, ID: c.ID, Fields: c.After, Since: c.Time})
	}
	g.refresh()
}

// Refresh takes in entities as another server stored them (nil Fields:
// gone) and the hosts' last contact as the store has it.
func (g *Graph) Refresh(entities []Entity, streams []HostStream) {
	for i := range entities {
		if e := &entities[i]; e.Fields == nil {
			g.remove(e.Key())
		} else {
			g.put(e)
		}
	}
	for _, st := range streams {
		if h := g.host(st.Host); st.LastSeen.After(h.lastSeen) {
			h.lastSeen = st.LastSeen
		}
	}
	g.refresh()
}

func (g *Graph) host(id string) *hostView {
	h := g.hosts[id]
	if h == nil {
		h = &hostView{id: id, entities: map[wire.Kind]map[string]*Entity{}, alias: map[string]string{}}
		g.hosts[id] = h
	}
	return h
}

func (g *Graph) put(e *Entity) {
	g.own(e.Host)
	g.touch(e.Host)
	g.remove(e.Key())
	h := g.host(e.Host)
	m := h.entities[e.Kind]
	if m == nil {
		m = map[string]*Entity{}
		h.entities[e.Kind] = m
	}
	m[e.ID] = e
	switch e.Kind {
	case wire.KindNeighbor:
		g.topo.dirty = true
	case wire.KindHost:
		g.topo.dirty = true
		// The host's site setting is its nodes' site, unless a node
		// names its own.
		for _, ne := range h.entities[wire.KindNode] {
			if n := g.nodes[ne.ID][e.Host]; n != nil && n.Site != nodeSite(ne, e) {
				g.ownNode(ne.ID)
				g.nodes[ne.ID][e.Host] = nodeFrom(ne, e)
				g.nodeChanged(ne.ID)
			}
		}
	case wire.KindNode:
		if g.nodes[e.ID] == nil {
			g.nodes[e.ID] = map[string]*Node{}
		}
		g.ownNode(e.ID)
		g.nodes[e.ID][e.Host] = nodeFrom(e, h.entities[wire.KindHost][e.Host])
		g.nodeChanged(e.ID)
	case wire.KindBlock:
		h.alias["/dev/"+e.ID] = e.ID
		for _, a := range strings.Fields(e.Fields[wire.FieldAliases]) {
			h.alias[a] = e.ID
		}
		if w := e.Fields[wire.FieldWWID]; w != "" {
			if g.luns[w] == nil {
				g.luns[w] = map[string][]string{}
			}
			g.ownLUN(w)
			g.luns[w][e.Host] = append(g.luns[w][e.Host], e.ID)
		}
	}
}

func (g *Graph) remove(k Key) {
	g.own(k.Host)
	g.touch(k.Host)
	h := g.hosts[k.Host]
	if h == nil {
		return
	}
	old := h.entities[k.Kind][k.ID]
	if old == nil {
		return
	}
	delete(h.entities[k.Kind], k.ID)
	switch k.Kind {
	case wire.KindNeighbor, wire.KindHost:
		g.topo.dirty = true
	case wire.KindNode:
		g.ownNode(k.ID)
		delete(g.nodes[k.ID], k.Host)
		if len(g.nodes[k.ID]) == 0 {
			delete(g.nodes, k.ID)
		}
		g.nodeChanged(k.ID)
	case wire.KindBlock:
		for a, id := range h.alias {
			if id == k.ID {
				delete(h.alias, a)
			}
		}
		if w := old.Fields[wire.FieldWWID]; w != "" {
			g.ownLUN(w)
			g.luns[w][k.Host] = without(g.luns[w][k.Host], k.ID)
			if len(g.luns[w][k.Host]) == 0 {
				delete(g.luns[w], k.Host)
			}
			if len(g.luns[w]) == 0 {
				delete(g.luns, w)
			}
		}
	}
}

func without(ids []string, id string) []string {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// entity returns the current entity of a key, nil when there is none.
func (g *Graph) entity(k Key) *Entity {
	if h := g.hosts[k.Host]; h != nil {
		return h.entities[k.Kind][k.ID]
	}
	return nil
}

// device resolves a device path on a host to its blockdev entity.
func (g *Graph) device(host, path string) *Entity {
	h := g.hosts[host]
	if h == nil {
		return nil
	}
	if id, ok := h.alias[path]; ok {
		return h.entities[wire.KindBlock][id]
	}
	return nil
}

// node returns the authoritative instance of a node: the one running, or
// else the most recently changed.
func (g *Graph) node(name string) *Node {
	var best *Node
	for _, n := range g.nodes[name] {
		if best == nil || (n.InService() && !best.InService()) ||
			(n.InService() == best.InService() && (n.Since.After(best.Since) || (n.Since.Equal(best.Since) && n.Host < best.Host))) {
			best = n
		}
	}
	return best
}

// Nodes returns every node once (its authoritative instance), by name.
// The slice is shared: callers must not modify it.
func (g *Graph) Nodes() []*Node { return g.nodeList }

func (g *Graph) nodeChanged(name string) {
	if g.nodesDirty == nil {
		g.nodesDirty = map[string]bool{}
	}
	g.nodesDirty[name] = true
}

// listNodes brings nodeList up to date: in full the first time, then
// only the names that changed, in a new slice (readers and forks may
// hold the old one).
func (g *Graph) listNodes() {
	if g.nodeList != nil && len(g.nodesDirty) == 0 {
		return
	}
	if g.nodeList == nil || len(g.nodesDirty) > len(g.nodes)/8 {
		out := make([]*Node, 0, len(g.nodes))
		for name := range g.nodes {
			out = append(out, g.node(name))
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		g.nodeList, g.nodesDirty = out, nil
		return
	}
	out := slices.Clone(g.nodeList)
	for name := range g.nodesDirty {
		i, found := sort.Find(len(out), func(i int) int { return strings.Compare(name, out[i].Name) })
		switch n := g.node(name); {
		case n != nil && found:
			out[i] = n
		case n != nil:
			out = slices.Insert(out, i, n)
		case found:
			out = slices.Delete(out, i, i+1)
		}
	}
	g.nodeList, g.nodesDirty = out, nil
}

// HostSummary is a host as `model hosts` lists it.
type HostSummary struct {
	Host        string    `json:"host"`
	LastSeen    time.Time `json:"last_seen"`
	Stale       bool      `json:"stale"`
	MemoryBytes int64     `json:"memory_bytes,omitempty"`
	Nodes       []string  `json:"nodes"`
	Devices     int       `json:"devices"`
	Links       int       `json:"links"`
	Addresses   int       `json:"addresses"`
	// The placement its settings give (site: else its nodes'), and the
	// switches its links hear by LLDP (by system name).
	Site     string   `json:"site,omitempty"`
	Room     string   `json:"room,omitempty"`
	Rack     string   `json:"rack,omitempty"`
	Switches []string `json:"switches,omitempty"`
}

// Hosts summarises every host; a host not heard from since staleBefore
// is stale.
func (g *Graph) Hosts(staleBefore time.Time) []HostSummary {
	out := make([]HostSummary, 0, len(g.hosts))
	for id, h := range g.hosts {
		s := HostSummary{Host: id, LastSeen: h.lastSeen, Stale: h.lastSeen.Before(staleBefore), Nodes: []string{},
			Devices: len(h.entities[wire.KindBlock]), Links: len(h.entities[wire.KindLink]), Addresses: len(h.entities[wire.KindAddress])}
		s.MemoryBytes = g.memory(id)
		s.Site, s.Room, s.Rack = g.placement(id, wire.FieldSite), g.placement(id, wire.FieldRoom), g.placement(id, wire.FieldRack)
		for _, link := range slices.Sorted(maps.Keys(g.topo.uplinks[id])) {
			for _, c := range g.topo.uplinks[id][link] {
				if l := g.switchLabel(c); !slices.Contains(s.Switches, l) {
					s.Switches = append(s.Switches, l)
				}
			}
		}
		for name := range h.entities[wire.KindNode] {
			s.Nodes = append(s.Nodes, name)
		}
		sort.Strings(s.Nodes)
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}

// memory returns the host's memory_bytes, 0 when unknown.
func (g *Graph) memory(host string) int64 {
	e := g.entity(Key{host, wire.KindHost, host})
	if e == nil {
		return 0
	}
	n, _ := strconv.ParseInt(e.Fields[wire.FieldMemoryBytes], 10, 64)
	return n
}
