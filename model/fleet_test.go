package model

import (
	"fmt"
	"strconv"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// This file generates fleets the way agents would describe them: each
// simulated host knows its entities and numbers its events like an agent.

// simHost is one host as its agent sees it.
type simHost struct {
	id       string
	epoch    int64
	seq      uint64
	entities map[kindID]map[string]string
	clock    time.Time
}

func newSimHost(id string, epoch int64, clock time.Time) *simHost {
	h := &simHost{id: id, epoch: epoch, entities: map[kindID]map[string]string{}, clock: clock}
	h.set(wire.KindHost, id, map[string]string{
		wire.FieldHostname: id, wire.FieldMemoryBytes: strconv.FormatInt(256<<30, 10), wire.FieldCPUs: "32",
	})
	return h
}

func (h *simHost) set(kind wire.Kind, id string, fields map[string]string) {
	h.entities[kindID{kind, id}] = fields
}

// next stamps an event with the host's next sequence number; the clock
// moves a millisecond per event.
func (h *simHost) next(op wire.Op, kind wire.Kind, id string, fields map[string]string) wire.Event {
	h.seq++
	h.clock = h.clock.Add(time.Millisecond)
	return wire.Event{Host: h.id, Epoch: h.epoch, Seq: h.seq, Time: h.clock, Op: op, Kind: kind, ID: id, Fields: fields}
}

// snapshot returns the full snapshot an agent sends at the start of an
// epoch: host entity first, snapshot_end last.
func (h *simHost) snapshot() *wire.Batch {
	b := wire.NewBatch(h.id)
	first := h.seq + 1
	b.Add(h.next(wire.OpSnapshot, wire.KindHost, h.id, h.entities[kindID{wire.KindHost, h.id}]))
	for _, k := range sortedKeys(h.entities) {
		if k.kind != wire.KindHost {
			b.Add(h.next(wire.OpSnapshot, k.kind, k.id, h.entities[k]))
		}
	}
	b.Add(h.next(wire.OpSnapshotEnd, wire.KindHost, h.id, map[string]string{wire.FieldFirstSeq: strconv.FormatUint(first, 10)}))
	return b
}

// change edits one entity and returns the changed event.
func (h *simHost) change(kind wire.Kind, id string, set map[string]string, unset ...string) wire.Event {
	k := kindID{kind, id}
	f := map[string]string{}
	for key, v := range h.entities[k] {
		f[key] = v
	}
	for key, v := range set {
		f[key] = v
	}
	for _, u := range unset {
		delete(f, u)
	}
	h.entities[k] = f
	e := h.next(wire.OpChanged, kind, id, set)
	e.Unset = unset
	return e
}

func (h *simHost) add(kind wire.Kind, id string, fields map[string]string) wire.Event {
	h.set(kind, id, fields)
	return h.next(wire.OpAdded, kind, id, fields)
}

func (h *simHost) remove(kind wire.Kind, id string) wire.Event {
	delete(h.entities, kindID{kind, id})
	return h.next(wire.OpRemoved, kind, id, nil)
}

func (h *simHost) sample(name string, v float64) wire.Event {
	return h.next(wire.OpSample, wire.KindMetric, name, map[string]string{wire.FieldValue: wire.FormatValue(v)})
}

func sortedKeys(m map[kindID]map[string]string) []kindID {
	keys := make([]kindID, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortKindIDs(keys)
	return keys
}

// fleetSpec shapes a generated fleet. Hosts are grouped: the hosts of a
// group share their nodes' LUNs, so nodes may move within a group.
type fleetSpec struct {
	hosts     int
	sites     int
	groupSize int
	// types lists the node types on every host, in order; nodes are
	// named SITE-<abbrev><n>.
	types []string
}

var nodeAbbrev = map[string]string{
	"VM_Storage_Node": "S", "VM_API_Gateway": "GW", "VM_Admin_Node": "ADM", "VM_Archive_Node": "ARC",
}

// genFleet builds the hosts of a spec. Host i is dc<site>-h<i>; its
// nodes' devices appear, with the same WWIDs, on every host of its group.
func genFleet(spec fleetSpec, clock time.Time) []*simHost {
	hosts := make([]*simHost, spec.hosts)
	for i := range hosts {
		site := i%spec.sites + 1
		hosts[i] = newSimHost(fmt.Sprintf("dc%d-h%d", site, i), 1, clock)
		addLinks(hosts[i], i)
	}
	counters := map[string]int{}
	for i, h := range hosts {
		site := fmt.Sprintf("DC%d", i%spec.sites+1)
		for _, typ := range spec.types {
			ab := nodeAbbrev[typ]
			counters[site+ab]++
			name := fmt.Sprintf("%s-%s%d", site, ab, counters[site+ab])
			cfg := nodeConfig(name, typ)
			h.set(wire.KindNode, name, cfg)
			for _, peer := range groupOf(hosts, i, spec.groupSize) {
				addNodeDevices(peer, name, cfg)
			}
		}
	}
	return hosts
}

func groupOf(hosts []*simHost, i, size int) []*simHost {
	start := i / size * size
	return hosts[start:min(start+size, len(hosts))]
}

func addLinks(h *simHost, i int) {
	mac := func(n int) string { return fmt.Sprintf("52:54:00:%02x:%02x:%02x", i>>8&0xff, i&0xff, n) }
	h.set(wire.KindLink, "eth0", map[string]string{"type": "device", "mac": mac(0), "mtu": "9000", "admin_state": "up", "master": "bond0"})
	h.set(wire.KindLink, "eth1", map[string]string{"type": "device", "mac": mac(1), "mtu": "9000", "admin_state": "up", "master": "bond0"})
	h.set(wire.KindLink, "bond0", map[string]string{"type": "bond", "mac": mac(0), "mtu": "9000", "admin_state": "up", "bond_mode": "802.3ad"})
	for n, vlan := range []string{"1001", "1002", "1003"} {
		link := "bond0." + vlan
		h.set(wire.KindLink, link, map[string]string{"type": "vlan", "parent": "bond0", "vlan_id": vlan, "mtu": "9000", "admin_state": "up"})
		cidr := fmt.Sprintf("10.%d.%d.%d/16", n+1, i>>8&0xff, i&0xff+1)
		h.set(wire.KindAddress, wire.AddressID(link, cidr), map[string]string{"link": link, "address": cidr, "family": "inet"})
	}
	h.set(wire.KindRoute, wire.RouteID(254, "default", 0, "bond0.1001", "10.1.0.1"), map[string]string{"dst": "default", "gateway": "10.1.0.1", "link": "bond0.1001", "table": "254"})
}

func nodeConfig(name, typ string) map[string]string {
	cfg := map[string]string{
		"NODE_TYPE":              typ,
		"BLOCK_DEVICE_VAR_LOCAL": "/dev/mapper/sgws-" + lower(name) + "-var-local",
		"GRID_NETWORK_TARGET":    "bond0.1001",
		"ADMIN_NETWORK_TARGET":   "bond0.1002",
		"CLIENT_NETWORK_TARGET":  "bond0.1003",
		"GRID_NETWORK_IP":        "10.1.0.10",
		"MAXIMUM_RAM":            "8g",
		wire.FieldRunState:       "Running",
		wire.FieldConfigState:    "Configured",
	}
	switch typ {
	case "VM_Storage_Node":
		cfg["BLOCK_DEVICE_RANGEDB_00"] = "/dev/mapper/sgws-" + lower(name) + "-rangedb-0"
		cfg["BLOCK_DEVICE_RANGEDB_01"] = "/dev/mapper/sgws-" + lower(name) + "-rangedb-1"
		cfg["MAXIMUM_RAM"] = "24g"
	case "VM_Admin_Node":
		cfg["BLOCK_DEVICE_AUDIT_LOGS"] = "/dev/mapper/sgws-" + lower(name) + "-audit-logs"
		cfg["BLOCK_DEVICE_TABLES"] = "/dev/mapper/sgws-" + lower(name) + "-tables"
		cfg["ADMIN_ROLE"] = "Non-Primary"
	}
	return cfg
}

// addNodeDevices makes a node's LUNs visible on h as multipath devices.
func addNodeDevices(h *simHost, node string, cfg map[string]string) {
	for _, key := range sortedConfigKeys(cfg) {
		path := cfg[key]
		if !isBlockDeviceKey(key) {
			continue
		}
		n := len(h.entities)
		dev := fmt.Sprintf("dm-%d", n)
		h.set(wire.KindBlock, dev, map[string]string{
			wire.FieldWWID:      "3600a0980" + fmt.Sprintf("%x", hashString(path)),
			wire.FieldSizeBytes: strconv.FormatInt(100<<30, 10),
			wire.FieldType:      "mpath",
			wire.FieldAliases:   "/dev/" + dev + " " + path,
		})
	}
}

func hashString(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
