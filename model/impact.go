package model

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/storagegrid/storagegrid/wire"
)

// Ref names something impact can start from: an entity, or a LUN by WWID
// (Kind "wwid", ID the WWID, no host).
type Ref struct {
	Kind string `json:"kind"`
	Host string `json:"host,omitempty"`
	ID   string `json:"id"`
}

// KindWWID is the Ref kind of a LUN, seen by every host that has a device
// with that WWID.
const KindWWID = "wwid"

func (r Ref) String() string {
	switch {
	case r.Kind == KindWWID || r.Kind == string(wire.KindNode) || r.Kind == KindSwitch || r.Kind == KindRack:
		return r.Kind + "/" + r.ID
	case r.Kind == string(wire.KindHost):
		return "host/" + r.Host
	}
	return r.Kind + "/" + r.Host + "/" + r.ID
}

// ErrNotFound is wrapped by errors about names the model does not know.
var ErrNotFound = errors.New("not in the model")

// ParseRef reads an impact argument: host/H, node/N, link/H/IF (or
// interface/H/IF), blockdev/H/DEV (or device/H/DEV; DEV may be a device
// path such as /dev/mapper/x), address/H/ID, route/H/ID, wwid/WWID, or a
// bare host or node name.
func (g *Graph) ParseRef(s string) (Ref, error) {
	kind, rest, found := strings.Cut(s, "/")
	if !found {
		switch {
		case g.hosts[s] != nil:
			return Ref{Kind: string(wire.KindHost), Host: s, ID: s}, nil
		case g.nodes[s] != nil:
			return Ref{Kind: string(wire.KindNode), ID: s}, nil
		}
		return Ref{}, fmt.Errorf("%q: no host or node of that name: %w", s, ErrNotFound)
	}
	switch kind {
	case "interface":
		kind = string(wire.KindLink)
	case "device":
		kind = string(wire.KindBlock)
	}
	switch kind {
	case string(wire.KindHost):
		if g.hosts[rest] == nil {
			return Ref{}, fmt.Errorf("host %q: %w", rest, ErrNotFound)
		}
		return Ref{Kind: kind, Host: rest, ID: rest}, nil
	case string(wire.KindNode):
		if g.nodes[rest] == nil {
			return Ref{}, fmt.Errorf("node %q: %w", rest, ErrNotFound)
		}
		return Ref{Kind: kind, ID: rest}, nil
	case KindWWID:
		if g.luns[rest] == nil {
			return Ref{}, fmt.Errorf("no device with WWID %q: %w", rest, ErrNotFound)
		}
		return Ref{Kind: kind, ID: rest}, nil
	case KindSwitch:
		if r, ok := g.switchRef(rest); ok {
			return r, nil
		}
		if ids := g.topo.byName[rest]; len(ids) > 1 {
			return Ref{}, fmt.Errorf("switch %q: %d chassis report that name (%s): name one by its chassis id", rest, len(ids), strings.Join(ids, ", "))
		}
		return Ref{}, fmt.Errorf("switch %q: no host hears a switch of that chassis id or name by LLDP: %w", rest, ErrNotFound)
	case KindRack:
		if g.topo.racks[rest] == nil {
			return Ref{}, fmt.Errorf("rack %q: no host's settings place it in that rack: %w", rest, ErrNotFound)
		}
		return Ref{Kind: kind, ID: rest}, nil
	case string(wire.KindLink), string(wire.KindBlock), string(wire.KindAddress), string(wire.KindRoute):
		host, id, ok := strings.Cut(rest, "/")
		if !ok || host == "" || id == "" {
			return Ref{}, fmt.Errorf("%q: want %s/HOST/ID", s, kind)
		}
		if kind == string(wire.KindBlock) && strings.HasPrefix(id, "/") {
			if e := g.device(host, id); e != nil {
				id = e.ID
			}
		}
		if g.entity(Key{host, wire.Kind(kind), id}) == nil {
			return Ref{}, fmt.Errorf("%s %s on host %s: %w", kind, id, host, ErrNotFound)
		}
		return Ref{Kind: kind, Host: host, ID: id}, nil
	}
	return Ref{}, fmt.Errorf("%q: unknown kind %q (host, node, link, blockdev, address, route, wwid, switch, rack)", s, kind)
}

// Affected is one thing that depends, directly or not, on the impact's
// subject.
type Affected struct {
	Ref
	Depth int    `json:"depth"`
	Via   string `json:"via"` // what it depends on, one step closer
}

// Impact is everything that depends on a subject.
type Impact struct {
	Subject  Ref        `json:"subject"`
	Affected []Affected `json:"affected"`
	Nodes    []string   `json:"nodes"`           // the grid nodes among them
	Hosts    []string   `json:"hosts,omitempty"` // for a switch or rack: the hosts that lose links, or go down
	// Degraded, for a switch: bonds that lose members on it but keep
	// running on another switch.
	Degraded []Affected `json:"degraded,omitempty"`
	// Name is a switch's system name (the subject names its chassis).
	Name string `json:"name,omitempty"`
}

// Impact walks the dependency graph breadth-first from ref. For a switch
// it is what the switch's failure takes down (a bond with a member on
// another switch survives it); for a rack, its hosts and what depends on
// them.
func (g *Graph) Impact(ref Ref) Impact {
	switch ref.Kind {
	case KindSwitch:
		return g.switchImpact(ref)
	case KindRack:
		im := Impact{Subject: ref, Affected: []Affected{}, Nodes: []string{}}
		im.Hosts = g.topo.racks[ref.ID]
		for _, h := range g.topo.racks[ref.ID] {
			host := Ref{Kind: string(wire.KindHost), Host: h, ID: h}
			im.Affected = append(im.Affected, Affected{Ref: host, Depth: 1, Via: ref.String()})
			sub := g.Impact(host)
			for _, a := range sub.Affected {
				a.Depth++
				im.Affected = append(im.Affected, a)
			}
			im.Nodes = append(im.Nodes, sub.Nodes...)
		}
		slices.Sort(im.Nodes)
		return im
	}
	im := Impact{Subject: ref, Affected: []Affected{}, Nodes: []string{}}
	seen := map[Ref]bool{ref: true}
	type item struct {
		ref   Ref
		depth int
	}
	queue := []item{{ref, 0}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		for _, d := range g.dependents(it.ref) {
			if seen[d] {
				continue
			}
			seen[d] = true
			im.Affected = append(im.Affected, Affected{Ref: d, Depth: it.depth + 1, Via: it.ref.String()})
			if d.Kind == string(wire.KindNode) {
				im.Nodes = append(im.Nodes, d.ID)
			}
			queue = append(queue, item{d, it.depth + 1})
		}
	}
	slices.Sort(im.Nodes)
	return im
}

// dependents lists what depends directly on ref, in a stable order.
func (g *Graph) dependents(ref Ref) []Ref {
	var out []Ref
	switch ref.Kind {
	case string(wire.KindHost):
		out = g.hostDependents(ref.Host)
	case KindWWID:
		for host, ids := range g.luns[ref.ID] {
			for _, id := range ids {
				out = append(out, Ref{Kind: string(wire.KindBlock), Host: host, ID: id})
			}
		}
	case string(wire.KindBlock):
		out = g.deviceDependents(ref)
	case string(wire.KindLink):
		out = g.linkDependents(ref)
	}
	slices.SortFunc(out, func(a, b Ref) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// hostDependents: the host's nodes, and the devices and interfaces that
// nothing else on the host stands between (the rest follow from those).
func (g *Graph) hostDependents(host string) []Ref {
	h := g.hosts[host]
	var out []Ref
	for _, kind := range []wire.Kind{wire.KindNode, wire.KindBlock, wire.KindLink} {
		for _, e := range h.entities[kind] {
			if kind == wire.KindLink && e.Fields[wire.FieldParent] != "" {
				continue // reached through its parent
			}
			out = append(out, g.refOf(e))
		}
	}
	return out
}

func (g *Graph) refOf(e *Entity) Ref {
	if e.Kind == wire.KindNode {
		return Ref{Kind: string(wire.KindNode), ID: e.ID}
	}
	return Ref{Kind: string(e.Kind), Host: e.Host, ID: e.ID}
}

// deviceDependents: devices stacked on it (slaves) and the nodes on its
// host whose BLOCK_DEVICE_* resolve to it.
func (g *Graph) deviceDependents(ref Ref) []Ref {
	h := g.hosts[ref.Host]
	var out []Ref
	for id, e := range h.entities[wire.KindBlock] {
		if slices.Contains(strings.Fields(e.Fields[wire.FieldSlaves]), ref.ID) {
			out = append(out, Ref{Kind: string(wire.KindBlock), Host: ref.Host, ID: id})
		}
	}
	for name := range h.entities[wire.KindNode] {
		n := g.nodes[name][ref.Host]
		for _, d := range n.Devices {
			if h.alias[d.Path] == ref.ID {
				out = append(out, Ref{Kind: string(wire.KindNode), ID: name})
				break
			}
		}
	}
	return out
}

// linkDependents: a bond over its slave, VLANs over their parent,
// addresses and routes on it, nodes whose *_NETWORK_TARGET or
// INTERFACE_TARGET_* it is.
func (g *Graph) linkDependents(ref Ref) []Ref {
	h := g.hosts[ref.Host]
	var out []Ref
	self := h.entities[wire.KindLink][ref.ID]
	if m := self.Fields[wire.FieldMaster]; m != "" && h.entities[wire.KindLink][m] != nil {
		out = append(out, Ref{Kind: string(wire.KindLink), Host: ref.Host, ID: m})
	}
	for id, e := range h.entities[wire.KindLink] {
		if e.Fields[wire.FieldParent] == ref.ID {
			out = append(out, Ref{Kind: string(wire.KindLink), Host: ref.Host, ID: id})
		}
	}
	for _, kind := range []wire.Kind{wire.KindAddress, wire.KindRoute} {
		for id, e := range h.entities[kind] {
			if e.Fields[wire.FieldLink] == ref.ID {
				out = append(out, Ref{Kind: string(kind), Host: ref.Host, ID: id})
			}
		}
	}
	for name := range h.entities[wire.KindNode] {
		for _, ifc := range g.nodes[name][ref.Host].Interfaces {
			if ifc.Name == ref.ID {
				out = append(out, Ref{Kind: string(wire.KindNode), ID: name})
				break
			}
		}
	}
	return out
}

// switchImpact lists what a switch's failure takes down, by the failure
// rules (failures.go): its hosts' links cabled only to it, the bonds and
// VLANs over them, the addresses and routes on those, and the nodes that
// lose their grid network.
func (g *Graph) switchImpact(ref Ref) Impact {
	im := Impact{Subject: ref, Affected: []Affected{}, Nodes: []string{}, Name: g.topo.switches[ref.ID].Name}
	a := g.newAnalysis()
	f := &failSet{refs: []Ref{ref}}
	for _, host := range g.affectedHosts(ref) {
		h := g.hosts[host]
		l := g.evalHost(host, f)
		if len(l.links) > 0 {
			im.Hosts = append(im.Hosts, host)
		}
		depth := map[string]int{}
		link := func(id string) Ref { return Ref{Kind: string(wire.KindLink), Host: host, ID: id} }
		// Uplinks first, then what stands on them, in dependency order;
		// a link heard on the switch that also stands on another link
		// would wait for ever, so what is left counts as an uplink.
		for progress := true; progress; {
			progress = false
			for _, id := range slices.Sorted(maps.Keys(l.links)) {
				if _, done := depth[id]; done {
					continue
				}
				e := h.entities[wire.KindLink][id]
				via, d := ref.String(), 1
				if p := e.Fields[wire.FieldParent]; p != "" {
					if _, ok := depth[p]; !ok {
						continue
					}
					via, d = link(p).String(), depth[p]+1
				} else if slaves := slavesOf(h, id); len(slaves) > 0 {
					if _, ok := depth[slaves[0]]; !ok {
						continue
					}
					via, d = link(slaves[0]).String(), depth[slaves[0]]+1
				}
				depth[id] = d
				progress = true
				im.Affected = append(im.Affected, Affected{Ref: link(id), Depth: d, Via: via})
			}
		}
		for _, id := range slices.Sorted(maps.Keys(l.links)) {
			if _, done := depth[id]; !done {
				depth[id] = 1
				im.Affected = append(im.Affected, Affected{Ref: link(id), Depth: 1, Via: ref.String()})
			}
		}
		for _, kind := range []wire.Kind{wire.KindAddress, wire.KindRoute} {
			for _, id := range slices.Sorted(maps.Keys(h.entities[kind])) {
				if on := h.entities[kind][id].Fields[wire.FieldLink]; depth[on] > 0 {
					im.Affected = append(im.Affected, Affected{Ref: Ref{Kind: string(kind), Host: host, ID: id}, Depth: depth[on] + 1, Via: link(on).String()})
				}
			}
		}
		for _, n := range a.lostOn(host, l) {
			node := a.nodes[n.idx]
			for _, ifc := range node.Interfaces {
				if ifc.Key == "GRID_NETWORK_TARGET" && depth[ifc.Name] > 0 {
					im.Affected = append(im.Affected, Affected{Ref: Ref{Kind: string(wire.KindNode), ID: node.Name}, Depth: depth[ifc.Name] + 1, Via: link(ifc.Name).String()})
					im.Nodes = append(im.Nodes, node.Name)
				}
			}
		}
		for _, id := range slices.Sorted(maps.Keys(h.entities[wire.KindLink])) {
			slaves := slavesOf(h, id)
			if _, down := l.links[id]; down || len(slaves) < 2 {
				continue
			}
			for _, s := range slaves {
				if _, ok := l.links[s]; ok {
					im.Degraded = append(im.Degraded, Affected{Ref: link(id), Depth: depth[s] + 1, Via: link(s).String()})
					break
				}
			}
		}
	}
	slices.Sort(im.Nodes)
	im.Nodes = slices.Compact(im.Nodes)
	return im
}
