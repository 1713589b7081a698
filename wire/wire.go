// Package wire is the versioned schema in which host agents report to the
// model server: what a host has (inventory), how it changes, and how it is
// doing (metric samples). The agent encodes with it, the model server
// decodes with it; nothing else defines the format.
//
// # Batches
//
// Events travel in batches: NDJSON (one JSON object per line), usually
// gzip-compressed (HTTP Content-Encoding: gzip), POSTed to IngestPath with
// "Authorization: Bearer TOKEN", the token of the sending host, and/or over
// mutual TLS with a client certificate naming the host (common name or DNS
// name); the receiver decides which it requires. The first
// line is the batch header, every other line is one event:
//
//	{"wire":2,"host":"dc1-h1","events":2}
//	{"host":"dc1-h1","epoch":1718000000000000000,"seq":41,"time":"2024-06-10T06:13:20Z","op":"changed","kind":"link","id":"bond0","fields":{"mtu":"9000"},"unset":["speed_mbps"]}
//	{"host":"dc1-h1","epoch":1718000000000000000,"seq":42,"time":"2024-06-10T06:13:21Z","op":"sample","kind":"metric","id":"node_load1","fields":{"value":"0.42"}}
//
// A batch holds events of one host only, the host its token belongs to, in
// strictly increasing (epoch, seq) order. The header's event count lets the
// receiver detect a truncated body even without gzip. Limits (DefaultLimits)
// bound the compressed body, the decompressed body, each line and the
// number of events; a batch over any of them is rejected whole.
//
// # Envelope
//
// Every event carries the host id, the epoch, a sequence number, the time
// it was observed (the host's clock), an op, an entity kind and id, and
// string fields:
//
//   - host: the host id, [A-Za-z0-9][A-Za-z0-9._-]*, at most 253 bytes.
//   - epoch: chosen by the agent when it starts its event stream (its start
//     time in Unix nanoseconds); it must grow across agent restarts.
//   - seq: starts at 1 in each epoch and grows by one per event. Gaps are
//     allowed (an agent whose spool overflowed drops metric samples), but
//     never reordering. The receiver stores (host, epoch, seq) once: a
//     replayed event is a duplicate and is ignored.
//   - op: snapshot, snapshot_end, added, removed, changed, or sample.
//   - kind and id: which entity (see Kinds below). An entity is named by
//     (host, kind, id); ids are unique per host and kind.
//   - fields: the entity's attributes, all strings (numbers in decimal,
//     lists space-separated), so that changes can be tracked per field.
//   - unset: with op changed only, the fields that disappeared.
//
// # Ops
//
//   - snapshot: the entity as it is now, with all its fields. An agent
//     sends a full snapshot when it starts an epoch (and may send another
//     at any time): the host entity first, then every other entity, then
//     one snapshot_end.
//   - snapshot_end: kind "host", id the host id, fields {"first_seq": N}
//     where N is the seq of the snapshot's first event. Every entity of
//     the host that no event since N named is removed by the receiver. The
//     snapshot therefore replaces the host's entity set.
//   - added: a new entity, with all its fields.
//   - removed: the entity is gone; no fields.
//   - changed: only the fields whose values changed or appeared, plus
//     unset for the fields that disappeared.
//   - sample: a metric sample (kind metric only): fields {"value": V}.
//
// # Kinds and their fields
//
// Field names in lower case are facts the agent observed; node entities
// also carry their configuration keys verbatim in UPPER_CASE.
//
//   - host, id = the host id: hostname, uuid, kernel, os, cpus,
//     memory_bytes, agent_version.
//   - node, id = the node name (e.g. DC1-S3): every KEY = VALUE of the
//     node's config file (NODE_TYPE, BLOCK_DEVICE_*, *_NETWORK_TARGET,
//     MAXIMUM_RAM, SITE if present, ...), plus run_state (Running,
//     Not-Running, Starting, Stopping, Orphaned) and config_state.
//   - blockdev, id = the kernel name (sdb, dm-3): wwid (the identity of a
//     LUN across hosts), size_bytes, type (disk, part, mpath, lvm, loop,
//     ...), aliases (the paths this host knows it by: /dev/sdb,
//     /dev/mapper/NAME, /dev/disk/by-id/...), slaves (kernel names under
//     a dm or multipath device), ro ("1" when read-only).
//   - link, id = the interface name (eth0, bond0, bond0.1001): type
//     (device, vlan, bond, bridge, veth, dummy, ...), mac, mtu,
//     admin_state (up, down), oper_state, parent (a VLAN's lower link),
//     vlan_id, master (the bond or bridge it is enslaved to), bond_mode,
//     speed_mbps.
//   - address, id = AddressID(link, cidr): link, address (CIDR), family
//     (inet, inet6), scope.
//   - route, id = RouteID(table, dst, metric, link, gateway): dst (CIDR or
//     "default"), gateway, link, table, metric, protocol.
//   - metric, id = MetricID(name, labels...), e.g.
//     node_disk_read_bytes_total{device="sdb"}: value.
//   - neighbor (version 2), id = NeighborID(link, chassis_id, port_id): a
//     device heard on a physical interface by LLDP, as long as its
//     advertisement lives: link, chassis_id, chassis_id_subtype (mac,
//     local, network-address, ...), sys_name, port_id, port_id_subtype,
//     port_descr, vlans (VLAN ids, space-separated), pvid (the port's
//     VLAN), mgmt_addr (management addresses, space-separated), source
//     (lldp: frames the agent received; lldpd: lldpcli's table).
//
// Host entities also carry, where known: boot_id (the kernel's random boot
// id, new at every boot) and the operator's placement from the host
// settings: site, room, rack.
//
// # Versions
//
// The header's "wire" field is the schema version of the batch; this
// package speaks Version and lists every version it can read in
// Supported. A receiver rejects a batch of a version it does not support
// (HTTP 400, with the versions it does support in the error body and in
// the VersionHeader response header) rather than guessing; a sender can
// ask first with Negotiate (GET VersionPath). Adding a kind, an op or an
// envelope field makes a new version; adding a documented field to a kind
// does not, and receivers keep fields they do not know.
//
// # Acknowledgement
//
// The receiver answers a stored batch with an Ack: the highest (epoch,
// seq) of the host now stored. Everything of that host up to it, in
// (epoch, seq) order, is durable and may be trimmed from the agent's
// spool. A batch of duplicates is acknowledged the same way.
package wire

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Version is the schema version this package writes. Version 2 added the
// neighbor kind; a version 1 batch holds none.
const Version = 2

// Supported lists the schema versions this package reads.
var Supported = []int{1, 2}

// HTTP endpoints and headers of the model server used by agents.
const (
	IngestPath    = "/api/v1/ingest"
	VersionPath   = "/api/v1/version"
	ContentType   = "application/x-ndjson"
	VersionHeader = "Storagegrid-Wire-Version"
)

// Op is what an event says about its entity.
type Op string

// The ops; see the package comment.
const (
	OpSnapshot    Op = "snapshot"
	OpSnapshotEnd Op = "snapshot_end"
	OpAdded       Op = "added"
	OpRemoved     Op = "removed"
	OpChanged     Op = "changed"
	OpSample      Op = "sample"
)

// Kind is the type of an entity.
type Kind string

// The entity kinds of version 1.
const (
	KindHost    Kind = "host"
	KindNode    Kind = "node"
	KindBlock   Kind = "blockdev"
	KindLink    Kind = "link"
	KindAddress Kind = "address"
	KindRoute   Kind = "route"
	KindMetric  Kind = "metric"
	// KindNeighbor is a device heard on a link (LLDP); version 2.
	KindNeighbor Kind = "neighbor"
)

// Kinds lists the entity kinds, metric last.
var Kinds = []Kind{KindHost, KindNode, KindBlock, KindLink, KindAddress, KindRoute, KindNeighbor, KindMetric}

// kindSince is the version that added a kind; absent ones are in 1.
var kindSince = map[Kind]int{KindNeighbor: 2}

// Documented field names. Nodes also carry their config keys verbatim.
const (
	FieldFirstSeq = "first_seq" // snapshot_end
	FieldValue    = "value"     // metric

	FieldHostname    = "hostname"
	FieldUUID        = "uuid"
	FieldMemoryBytes = "memory_bytes"
	FieldCPUs        = "cpus"

	FieldRunState    = "run_state"
	FieldConfigState = "config_state"

	FieldWWID      = "wwid"
	FieldSizeBytes = "size_bytes"
	FieldType      = "type"
	FieldAliases   = "aliases"
	FieldSlaves    = "slaves"

	FieldMTU        = "mtu"
	FieldAdminState = "admin_state" // up, down
	FieldOperState  = "oper_state"  // RFC 2863, as ip(8) shows it
	FieldParent     = "parent"
	FieldMaster     = "master"
	FieldVLANID     = "vlan_id"

	FieldLink    = "link"
	FieldAddress = "address"
	FieldGateway = "gateway"

	FieldBootID = "boot_id"
	FieldKernel = "kernel"
	FieldSite   = "site"
	FieldRoom   = "room"
	FieldRack   = "rack"

	FieldChassisID        = "chassis_id"
	FieldChassisIDSubtype = "chassis_id_subtype"
	FieldSysName          = "sys_name"
	FieldPortID           = "port_id"
	FieldPortIDSubtype    = "port_id_subtype"
	FieldPortDescr        = "port_descr"
	FieldVLANs            = "vlans"
	FieldPVID             = "pvid"
	FieldMgmtAddr         = "mgmt_addr"
	FieldSource           = "source"
)

// Header is the first line of a batch.
type Header struct {
	Wire   int    `json:"wire"`
	Host   string `json:"host"`
	Events int    `json:"events"`
}

// Event is one line of a batch after the header.
type Event struct {
	Host   string            `json:"host"`
	Epoch  int64             `json:"epoch"`
	Seq    uint64            `json:"seq"`
	Time   time.Time         `json:"time"`
	Op     Op                `json:"op"`
	Kind   Kind              `json:"kind"`
	ID     string            `json:"id"`
	Fields map[string]string `json:"fields,omitempty"`
	Unset  []string          `json:"unset,omitempty"`
}

// Batch is a header and its events.
type Batch struct {
	Header
	Events []Event
}

// NewBatch starts a batch of the current version for host.
func NewBatch(host string) *Batch {
	return &Batch{Header: Header{Wire: Version, Host: host}}
}

// Add appends events to the batch.
func (b *Batch) Add(evs ...Event) { b.Events = append(b.Events, evs...) }

// Last returns the (epoch, seq) of the batch's last event, zeros if empty.
func (b *Batch) Last() (epoch int64, seq uint64) {
	if len(b.Events) == 0 {
		return 0, 0
	}
	e := b.Events[len(b.Events)-1]
	return e.Epoch, e.Seq
}

// Ack is the receiver's answer to a stored batch.
type Ack struct {
	Host string `json:"host"`
	// Epoch and Seq: everything of the host up to here is stored.
	Epoch      int64  `json:"epoch"`
	Seq        uint64 `json:"seq"`
	Stored     int    `json:"stored"`     // new events in this batch
	Duplicates int    `json:"duplicates"` // events already stored before
	// Stale counts events of an epoch older than one already stored:
	// they describe a past the receiver has moved beyond, and are dropped.
	Stale int `json:"stale"`
}

// ErrorBody is the JSON body of every error answer of the receiver.
type ErrorBody struct {
	Error string `json:"error"`
	Wire  []int  `json:"wire,omitempty"` // set when the version was refused
}

// VersionInfo is the answer of VersionPath.
type VersionInfo struct {
	Wire []int `json:"wire"`
}

const (
	maxHostLen  = 253
	maxIDLen    = 1024
	maxFieldLen = 256
)

// ValidHostID reports an error when id cannot name a host: it must start
// with a letter or digit and hold only letters, digits, '.', '_' and '-'.
func ValidHostID(id string) error {
	if id == "" || len(id) > maxHostLen {
		return fmt.Errorf("host id %q: must be 1 to %d characters", id, maxHostLen)
	}
	for i, r := range id {
		ok := r < utf8.RuneSelf && (isAlnum(byte(r)) || (i > 0 && strings.ContainsRune("._-", r)))
		if !ok {
			return fmt.Errorf("host id %q: only letters, digits, '.', '_' and '-' (not first) are allowed", id)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Validate checks one event of a batch of host, of the current version.
func (e *Event) Validate(host string) error { return e.validate(host, Version) }

// validate checks one event of a batch of host and schema version.
func (e *Event) validate(host string, version int) error {
	if e.Host != host {
		return fmt.Errorf("host %q differs from the batch's host %q", e.Host, host)
	}
	if e.Epoch <= 0 || e.Seq == 0 {
		return fmt.Errorf("epoch and seq must be positive (epoch %d, seq %d)", e.Epoch, e.Seq)
	}
	if e.Time.IsZero() {
		return fmt.Errorf("seq %d: missing time", e.Seq)
	}
	if err := checkText("id", e.ID, maxIDLen); err != nil {
		return fmt.Errorf("seq %d: %w", e.Seq, err)
	}
	if !knownKind(e.Kind) {
		return fmt.Errorf("seq %d: unknown kind %q", e.Seq, e.Kind)
	}
	if v := kindSince[e.Kind]; v > version {
		return fmt.Errorf("seq %d: kind %q is not in wire version %d (it came with %d)", e.Seq, e.Kind, version, v)
	}
	if err := e.checkOp(); err != nil {
		return fmt.Errorf("seq %d (%s %s %q): %w", e.Seq, e.Op, e.Kind, e.ID, err)
	}
	for k, v := range e.Fields {
		if err := checkText("field name", k, maxFieldLen); err != nil {
			return fmt.Errorf("seq %d: %w", e.Seq, err)
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("seq %d: field %s: value is not UTF-8", e.Seq, k)
		}
	}
	for _, k := range e.Unset {
		if err := checkText("unset field name", k, maxFieldLen); err != nil {
			return fmt.Errorf("seq %d: %w", e.Seq, err)
		}
	}
	return nil
}

func knownKind(k Kind) bool {
	for _, known := range Kinds {
		if k == known {
			return true
		}
	}
	return false
}

// checkOp checks the op and the combinations of op, kind and fields.
func (e *Event) checkOp() error {
	if len(e.Unset) > 0 && e.Op != OpChanged {
		return fmt.Errorf("unset is only allowed with op changed")
	}
	switch e.Op {
	case OpSample:
		if e.Kind != KindMetric {
			return fmt.Errorf("op sample is only for kind metric")
		}
		if len(e.Fields) != 1 {
			return fmt.Errorf("a sample has exactly one field, value")
		}
		if _, err := ParseValue(e.Fields[FieldValue]); err != nil {
			return err
		}
		return nil
	case OpSnapshotEnd:
		if e.Kind != KindHost || e.ID != e.Host {
			return fmt.Errorf("snapshot_end must name the host entity")
		}
		first, err := strconv.ParseUint(e.Fields[FieldFirstSeq], 10, 64)
		if err != nil || first == 0 || first > e.Seq {
			return fmt.Errorf("first_seq %q must be a sequence number from 1 to %d", e.Fields[FieldFirstSeq], e.Seq)
		}
		return nil
	case OpRemoved:
		if len(e.Fields) > 0 {
			return fmt.Errorf("a removal carries no fields")
		}
	case OpSnapshot, OpAdded, OpChanged:
	default:
		return fmt.Errorf("unknown op %q", e.Op)
	}
	if e.Kind == KindMetric {
		return fmt.Errorf("kind metric only takes op sample")
	}
	if e.Kind == KindHost && e.ID != e.Host {
		return fmt.Errorf("the host entity's id must be the host id")
	}
	return nil
}

// checkText accepts printable UTF-8 of 1 to max bytes.
func checkText(what, s string, max int) error {
	if s == "" || len(s) > max {
		return fmt.Errorf("%s must be 1 to %d bytes", what, max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not UTF-8", what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s %q contains a control character", what, s)
		}
	}
	return nil
}

// AddressID names an address entity: link and CIDR, "bond0/10.1.3.5/24".
func AddressID(link, cidr string) string { return link + "/" + cidr }

// NeighborID names a neighbor entity: the local link, then the remote
// chassis and port (which may themselves hold slashes).
func NeighborID(link, chassisID, portID string) string { return link + "/" + chassisID + "/" + portID }

// RouteID names a route entity by all that tells one route from another
// the kernel keeps beside it: "254/default/100/bond0.1001/10.1.0.1" for
// the main table's default route of metric 100 out of bond0.1001 via
// 10.1.0.1. The link and gateway are part of it because IPv6 keeps one
// route per link for the same destination and metric (fe80::/64 on every
// interface), and an ID without them made those routes one entity whose
// link flipped at every collection. An empty link or gateway is "-".
func RouteID(table int, dst string, metric int, link, gateway string) string {
	return strconv.Itoa(table) + "/" + dst + "/" + strconv.Itoa(metric) + "/" + orDash(link) + "/" + orDash(gateway)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// MetricID names a metric series in the Prometheus text form, labels in
// the order given as name/value pairs: MetricID("node_disk_read_bytes_total",
// "device", "sdb") is node_disk_read_bytes_total{device="sdb"}.
func MetricID(name string, labels ...string) string {
	if len(labels) < 2 {
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(labels[i])
		b.WriteString("=")
		b.WriteString(strconv.Quote(labels[i+1]))
	}
	b.WriteByte('}')
	return b.String()
}

// FormatValue writes a metric value as a sample field.
func FormatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// ParseValue reads a metric sample's value field.
func ParseValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("metric value %q is not a number", s)
	}
	return v, nil
}
