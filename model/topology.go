package model

import (
	"slices"
	"sort"
	"strings"

	"github.com/storagegrid/storagegrid/wire"
)

// The physical layer under the hosts: the switches the agents hear by
// LLDP on their links (neighbor entities), and the placement operators
// give in host settings (site, room, rack). Neither is typed into a map:
// a switch is whatever chassis the hosts' links report, so the topology
// follows the cabling as it is.

// Switch is a device heard by LLDP on hosts' links, named by its chassis
// id (the one identity LLDP guarantees) and known by its system name.
type Switch struct {
	ID    string       `json:"id"`
	Name  string       `json:"name,omitempty"`
	Ports []SwitchPort `json:"ports"`
}

// SwitchPort is a switch port and the host link cabled to it.
type SwitchPort struct {
	Port  string `json:"port"`
	Descr string `json:"descr,omitempty"`
	Host  string `json:"host"`
	Link  string `json:"link"`
	VLANs string `json:"vlans,omitempty"`
}

// Label is how messages name the switch: its system name when it has
// one.
func (s *Switch) Label() string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}

// topology is derived from the graph's neighbor and host entities after
// every change of them (see refresh), so readers only read.
type topology struct {
	switches map[string]*Switch
	byName   map[string][]string            // system name -> chassis ids
	uplinks  map[string]map[string][]string // host -> link -> chassis ids heard on it, sorted
	racks    map[string][]string            // rack -> hosts, sorted
	dirty    bool
}

// KindSwitch and KindRack are the Ref kinds of the physical layer.
const (
	KindSwitch = "switch"
	KindRack   = "rack"
)

// refresh rebuilds what the writer derives after a change: the node list
// and the topology.
func (g *Graph) refresh() {
	g.listNodes()
	if g.topo.switches != nil && !g.topo.dirty {
		return
	}
	t := topology{switches: map[string]*Switch{}, byName: map[string][]string{}, uplinks: map[string]map[string][]string{}, racks: map[string][]string{}}
	for id, h := range g.hosts {
		if r := g.placement(id, wire.FieldRack); r != "" {
			t.racks[r] = append(t.racks[r], id)
		}
		for _, e := range h.entities[wire.KindNeighbor] {
			chassis, link := e.Fields[wire.FieldChassisID], e.Fields[wire.FieldLink]
			if chassis == "" || link == "" {
				continue
			}
			sw := t.switches[chassis]
			if sw == nil {
				sw = &Switch{ID: chassis}
				t.switches[chassis] = sw
			}
			if n := e.Fields[wire.FieldSysName]; n != "" && (sw.Name == "" || n < sw.Name) {
				sw.Name = n // the same for every report, unless mid-rename
			}
			sw.Ports = append(sw.Ports, SwitchPort{Port: e.Fields[wire.FieldPortID], Descr: e.Fields[wire.FieldPortDescr], Host: id, Link: link, VLANs: e.Fields[wire.FieldVLANs]})
			if t.uplinks[id] == nil {
				t.uplinks[id] = map[string][]string{}
			}
			if !slices.Contains(t.uplinks[id][link], chassis) {
				t.uplinks[id][link] = append(t.uplinks[id][link], chassis)
				slices.Sort(t.uplinks[id][link])
			}
		}
	}
	for _, sw := range t.switches {
		sort.Slice(sw.Ports, func(i, j int) bool {
			a, b := sw.Ports[i], sw.Ports[j]
			return a.Port < b.Port || a.Port == b.Port && (a.Host < b.Host || a.Host == b.Host && a.Link < b.Link)
		})
		if sw.Name != "" {
			t.byName[sw.Name] = append(t.byName[sw.Name], sw.ID)
		}
	}
	for r := range t.racks {
		slices.Sort(t.racks[r])
	}
	g.topo = t
}

// placement returns a host's site, room or rack as its host settings
// give it; for the site, failing that, the site of its nodes.
func (g *Graph) placement(host, field string) string {
	if e := g.entity(Key{host, wire.KindHost, host}); e != nil && e.Fields[field] != "" {
		return e.Fields[field]
	}
	if field != wire.FieldSite {
		return ""
	}
	var sites []string
	for name := range g.hosts[host].entities[wire.KindNode] {
		if n := g.nodes[name][host]; n != nil && n.Site != "" {
			sites = append(sites, n.Site)
		}
	}
	if len(sites) == 0 {
		return ""
	}
	return slices.Min(sites)
}

// Switches lists the switches the hosts hear, by chassis id. The slices
// are shared: callers must not modify them.
func (g *Graph) Switches() []*Switch {
	out := make([]*Switch, 0, len(g.topo.switches))
	for _, sw := range g.topo.switches {
		out = append(out, sw)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// switchRef resolves a switch by chassis id or by a system name only one
// chassis has.
func (g *Graph) switchRef(s string) (Ref, bool) {
	if g.topo.switches[s] != nil {
		return Ref{Kind: KindSwitch, ID: s}, true
	}
	if ids := g.topo.byName[s]; len(ids) == 1 {
		return Ref{Kind: KindSwitch, ID: ids[0]}, true
	}
	return Ref{}, false
}

// switchLabel names a switch for messages: "sw-a (chassis 02:..)" style
// is too long for a line, so the name alone when there is one.
func (g *Graph) switchLabel(id string) string {
	if sw := g.topo.switches[id]; sw != nil {
		return sw.Label()
	}
	return id
}

// slavesOf lists the links enslaved to a bond or bridge of a host.
func slavesOf(h *hostView, master string) []string {
	var out []string
	for id, e := range h.entities[wire.KindLink] {
		if e.Fields[wire.FieldMaster] == master {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// rackHosts is the hosts of a rack, joined for messages.
func (g *Graph) rackHosts(r string) string { return strings.Join(g.topo.racks[r], ", ") }
