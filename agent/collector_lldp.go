package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mdlayher/lldp"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/storagegrid/storagegrid/netcheck"
	"github.com/storagegrid/storagegrid/wire"
)

func init() { register("lldp", true, newLLDP) }

// lldpCollector reports the LLDP neighbours of this host's Ethernet
// links: the switch port at the other end of each cable, which no other
// source on the host knows. It receives the LLDP frames itself, on an
// AF_PACKET socket per link, so it needs no daemon; where lldpd runs
// (lldpcli answers) its table is added, for neighbours heard before the
// agent started. A neighbour lives as long as its advertisement (the
// frame's TTL), and its appearance, change or expiry is reported at once
// to a watching agent.
type lldpCollector struct {
	src Sources
	// lldpcli is the command that asks lldpd for its neighbours, without
	// its arguments; tests add -u SOCKET. Empty: lldpcli from PATH.
	lldpcli []string

	scanMu sync.Mutex // one link scan at a time

	mu        sync.Mutex
	running   bool                     // receivers may be open (lazily started, stopped with Watch)
	receivers map[string]*lldpReceiver // by link name
	counts    map[string]*lldpCounts   // by link name, while the link is a candidate
	neighbors map[string]lldpNeighbor  // by wire.NeighborID
	expiry    *time.Timer              // fires at the earliest expiry
	changed   func()                   // the watching agent's, nil when none
	wg        sync.WaitGroup           // receiver goroutines
}

type lldpReceiver struct {
	link   string
	index  int
	conn   *packet.Conn
	closed atomic.Bool // set before conn is closed, so its read error is expected
}

type lldpCounts struct{ received, malformed uint64 }

type lldpNeighbor struct {
	link    string
	fields  map[string]string
	expires time.Time
}

const (
	// lldpMaxPerLink bounds the neighbours kept per link (lldpd's default
	// too): a flood of forged frames must not grow the table, or the
	// inventory, without end. Frames of further neighbours are dropped
	// until one expires.
	lldpMaxPerLink = 32
	// lldpBufSize holds a jumbo frame's payload: an LLDPDU fits in a
	// standard frame, but a link's MTU does not stop a larger one, and
	// a truncated read would look malformed.
	lldpBufSize = 9216
	// lldpcliTimeout bounds asking lldpd: a wedged daemon must not hold
	// up a collection cycle.
	lldpcliTimeout = 2 * time.Second
)

// lldpMulticast is the nearest-bridge group LLDP frames are sent to.
// Joining it makes NICs that filter multicast in hardware pass them up.
var lldpMulticast = net.HardwareAddr{0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e}

// lldpSkipTypes are link types that hear no LLDP of their own: bonds,
// teams and bridges pass LLDP frames up on their member ports, which are
// listened to; VLANs and macvlan or ipvlan devices would hand out copies
// of their lower link's frames, reporting each neighbour twice.
var lldpSkipTypes = map[string]bool{
	"bond": true, "team": true, "bridge": true, "openvswitch": true,
	"vlan": true, "macvlan": true, "macvtap": true, "ipvlan": true, "ipvtap": true,
}

func newLLDP(src Sources) (Collector, error) {
	return &lldpCollector{src: src, receivers: map[string]*lldpReceiver{},
		counts: map[string]*lldpCounts{}, neighbors: map[string]lldpNeighbor{}}, nil
}

// Collect opens receivers on links that appeared, closes those of links
// that went, and reports the live neighbours, lldpd's added, with each
// link's frame counters. Failing to listen on some links is retried at
// the next collection; it is an error only when no link can be listened
// to at all (no CAP_NET_RAW, AF_PACKET forbidden), which says why.
func (c *lldpCollector) Collect(ctx context.Context) ([]Item, error) {
	c.mu.Lock()
	c.running = true
	c.mu.Unlock()
	links, listening, err := c.rescan()
	if err != nil && (links == nil || listening == 0) {
		return nil, err
	}
	now := time.Now()
	c.mu.Lock()
	items := make([]Item, 0, len(c.neighbors)+2*len(c.counts))
	heard := map[string]bool{}
	for id, n := range c.neighbors {
		if now.Before(n.expires) {
			items = append(items, Item{Kind: wire.KindNeighbor, ID: id, Fields: maps.Clone(n.fields)})
			heard[id] = true
		}
	}
	for link, n := range c.counts {
		items = append(items,
			sample(float64(n.received), "storagegrid_lldp_frames_received_total", "link", link),
			sample(float64(n.malformed), "storagegrid_lldp_frames_malformed_total", "link", link))
	}
	c.mu.Unlock()
	for _, it := range c.lldpd(ctx) {
		// lldpd's table covers the links of its own namespace; only
		// those of the inspected one are this host's.
		if _, ok := links[it.Fields[wire.FieldLink]]; ok && !heard[it.ID] {
			heard[it.ID] = true
			items = append(items, it)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	return items, nil
}

// Watch keeps the receivers open while ctx lives, rescans the links when
// netlink announces a link change, and calls changed when a neighbour
// appears, changes or expires. When ctx ends the receivers are closed.
func (c *lldpCollector) Watch(ctx context.Context, changed, ready func()) error {
	c.mu.Lock()
	c.running, c.changed = true, changed
	c.mu.Unlock()
	defer c.stop()
	evs, err := netcheck.Watch(ctx, netcheck.WatchOptions{Namespace: c.src.Netns,
		OnError: func(error) { c.rescan() }}) // events lost: look again
	if err != nil {
		return err
	}
	// Listen before the agent's snapshot, so no frame falls between.
	c.rescan()
	ready()
	for ev := range evs {
		if ev.Change == netcheck.LinkChanged || ev.Change == netcheck.LinkRemoved {
			c.rescan()
		}
	}
	return nil
}

// stop closes every receiver and forgets what they heard: the collector
// starts afresh at its next Collect or Watch.
func (c *lldpCollector) stop() {
	c.mu.Lock()
	c.running, c.changed = false, nil
	rs := c.receivers
	c.receivers = map[string]*lldpReceiver{}
	c.counts = map[string]*lldpCounts{}
	c.neighbors = map[string]lldpNeighbor{}
	if c.expiry != nil {
		c.expiry.Stop()
	}
	c.mu.Unlock()
	for _, r := range rs {
		r.close()
	}
	c.wg.Wait()
}

func (r *lldpReceiver) close() {
	r.closed.Store(true)
	r.conn.Close()
}

// rescan lists the candidate links, closes the receivers of links gone
// (or replaced: same name, new index) and opens receivers on new ones. It
// returns the candidate links by name, how many have a receiver, and the
// errors of the links it could not listen on.
func (c *lldpCollector) rescan() (map[string]int, int, error) {
	c.scanMu.Lock()
	defer c.scanMu.Unlock()
	links, err := c.links()
	if err != nil {
		return nil, 0, err
	}
	c.mu.Lock()
	if !c.running {
		c.mu.Unlock()
		return links, 0, nil
	}
	var gone []*lldpReceiver
	for name, r := range c.receivers {
		if idx, ok := links[name]; !ok || idx != r.index {
			gone = append(gone, r)
			delete(c.receivers, name)
		}
	}
	dropped := false
	for name := range c.counts {
		if _, ok := links[name]; !ok {
			delete(c.counts, name)
		}
	}
	for id, n := range c.neighbors {
		if _, ok := links[n.link]; !ok {
			delete(c.neighbors, id)
			dropped = true
		}
	}
	var open []string
	for name := range links {
		if c.receivers[name] == nil {
			open = append(open, name)
		}
	}
	notify := c.notifier(dropped)
	c.mu.Unlock()
	for _, r := range gone {
		r.close()
	}
	notify()

	sort.Strings(open)
	var errs []error
	for _, name := range open {
		conn, err := c.listen(name, links[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("lldp: listening on %s: %w", name, err))
			continue
		}
		r := &lldpReceiver{link: name, index: links[name], conn: conn}
		c.mu.Lock()
		if !c.running { // stopped meanwhile
			c.mu.Unlock()
			r.close()
			continue
		}
		c.receivers[name] = r
		if c.counts[name] == nil {
			c.counts[name] = &lldpCounts{}
		}
		c.wg.Add(1)
		go c.receive(r)
		c.mu.Unlock()
	}
	c.mu.Lock()
	listening := len(c.receivers)
	c.mu.Unlock()
	return links, listening, errors.Join(errs...)
}

// links lists the Ethernet links LLDP can arrive on, name to index.
func (c *lldpCollector) links() (map[string]int, error) {
	h, err := netlink.NewHandle()
	if c.src.Netns != nil {
		h, err = netlink.NewHandleAt(*c.src.Netns)
	}
	if err != nil {
		return nil, fmt.Errorf("lldp: opening netlink: %w", err)
	}
	defer h.Close()
	ls, err := h.LinkList()
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("lldp: listing links: %w", err)
	}
	out := map[string]int{}
	for _, l := range ls {
		a := l.Attrs()
		if a.EncapType == "ether" && a.Flags&net.FlagLoopback == 0 && !lldpSkipTypes[l.Type()] {
			out[a.Name] = a.Index
		}
	}
	return out, nil
}

// listen opens a packet socket on one link, in the inspected namespace,
// for LLDP frames that arrive there.
func (c *lldpCollector) listen(name string, index int) (*packet.Conn, error) {
	// Bound to the LLDP ethertype, not ETH_P_ALL, the socket gets no
	// copy of the frames the host sends (its own lldpd's): only taps of
	// every protocol do.
	ifi := &net.Interface{Index: index, Name: name}
	conn, err := netcheck.InNamespace(c.src.Netns, func() (*packet.Conn, error) {
		return packet.Listen(ifi, packet.Datagram, int(lldp.EtherType), nil)
	})
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EAFNOSUPPORT) {
			return nil, fmt.Errorf("%w (receiving LLDP needs CAP_NET_RAW and the AF_PACKET address family)", err)
		}
		return nil, err
	}
	if err := conn.JoinGroup(lldpMulticast); err != nil {
		conn.Close()
		return nil, fmt.Errorf("joining the LLDP multicast group: %w", err)
	}
	return conn, nil
}

// receive reads one link's frames until its receiver is closed. A read
// error it did not expect ends it; the next scan opens the link again.
func (c *lldpCollector) receive(r *lldpReceiver) {
	defer c.wg.Done()
	buf := make([]byte, lldpBufSize)
	for {
		n, _, err := r.conn.ReadFrom(buf)
		if err != nil {
			if r.closed.Load() {
				return
			}
			// A packet socket bound to a link that is down reports
			// it once; frames flow again when the link comes up.
			if errors.Is(err, unix.ENETDOWN) {
				continue
			}
			c.mu.Lock()
			if c.receivers[r.link] == r {
				delete(c.receivers, r.link)
			}
			c.mu.Unlock()
			r.close()
			return
		}
		c.frame(r, buf[:n], time.Now())
	}
}

// frame takes one received LLDPDU into the table.
func (c *lldpCollector) frame(r *lldpReceiver, b []byte, now time.Time) {
	fields, ttl, err := decodeLLDPDU(b)
	c.mu.Lock()
	if c.receivers[r.link] != r { // closed meanwhile
		c.mu.Unlock()
		return
	}
	cnt := c.counts[r.link]
	cnt.received++
	var id string
	if err == nil {
		id = wire.NeighborID(r.link, fields[wire.FieldChassisID], fields[wire.FieldPortID])
		if len(id) > lldpMaxID {
			err = errors.New("identifiers too long")
		}
	}
	if err != nil {
		cnt.malformed++
		c.mu.Unlock()
		return
	}
	fields[wire.FieldLink] = r.link
	fields[wire.FieldSource] = "lldp"
	old, known := c.neighbors[id]
	var changed bool
	switch {
	case ttl == 0: // the neighbour's LLDP is shutting down: forget it now
		delete(c.neighbors, id)
		changed = known
	case !known && c.countOn(r.link) >= lldpMaxPerLink:
		// Full: dropped, as lldpd drops them.
	default:
		c.neighbors[id] = lldpNeighbor{link: r.link, fields: fields, expires: now.Add(ttl)}
		changed = !known || !maps.Equal(old.fields, fields) || !now.Before(old.expires)
	}
	c.arm(now)
	notify := c.notifier(changed)
	c.mu.Unlock()
	notify()
}

// lldpMaxID is the wire's bound on an entity id; a neighbour whose ids
// are longer could not be reported.
const lldpMaxID = 1024

func (c *lldpCollector) countOn(link string) int {
	n := 0
	for _, nb := range c.neighbors {
		if nb.link == link {
			n++
		}
	}
	return n
}

// arm sets the expiry timer to the earliest expiry; c.mu is held.
func (c *lldpCollector) arm(now time.Time) {
	var next time.Time
	for _, n := range c.neighbors {
		if next.IsZero() || n.expires.Before(next) {
			next = n.expires
		}
	}
	if next.IsZero() {
		if c.expiry != nil {
			c.expiry.Stop()
		}
		return
	}
	d := max(next.Sub(now), 0)
	if c.expiry == nil {
		c.expiry = time.AfterFunc(d, c.expire)
	} else {
		c.expiry.Reset(d)
	}
}

// expire drops the neighbours whose advertisement ran out.
func (c *lldpCollector) expire() {
	now := time.Now()
	c.mu.Lock()
	dropped := false
	for id, n := range c.neighbors {
		if !now.Before(n.expires) {
			delete(c.neighbors, id)
			dropped = true
		}
	}
	c.arm(now)
	notify := c.notifier(dropped)
	c.mu.Unlock()
	notify()
}

// notifier returns what tells a watching agent of a change, to be called
// once c.mu is released; c.mu is held.
func (c *lldpCollector) notifier(changed bool) func() {
	if f := c.changed; changed && f != nil {
		return f
	}
	return func() {}
}

// Chassis and port ID subtypes (IEEE 802.1AB, 8.5.2 and 8.5.3) as the
// wire names them.
var (
	chassisSubtypes = map[lldp.ChassisIDSubtype]string{
		lldp.ChassisIDSubtypeChassisComponenent: "chassis-component",
		lldp.ChassisIDSubtypeInterfaceAlias:     "interface-alias",
		lldp.ChassisIDSubtypePortComponent:      "port-component",
		lldp.ChassisIDSubtypeMACAddress:         "mac",
		lldp.ChassisIDSubtypeNetworkAddress:     "network-address",
		lldp.ChassisIDSubtypeInterfaceName:      "interface-name",
		lldp.ChassisIDSubtypeLocallyAssigned:    "local",
	}
	portSubtypes = map[lldp.PortIDSubtype]string{
		lldp.PortIDSubtypeInterfaceAlias:  "interface-alias",
		lldp.PortIDSubtypePortComponent:   "port-component",
		lldp.PortIDSubtypeMACAddress:      "mac",
		lldp.PortIDSubtypeNetworkAddress:  "network-address",
		lldp.PortIDSubtypeInterfaceName:   "interface-name",
		lldp.PortIDSubtypeAgentCircuitID:  "agent-circuit-id",
		lldp.PortIDSubtypeLocallyAssigned: "local",
	}
)

// IEEE 802.1 organisationally specific TLVs (802.1Q annex D).
var oui8021 = [3]byte{0x00, 0x80, 0xc2}

const (
	dot1PortVLANID = 1
	dot1VLANName   = 3
)

var errMalformed = errors.New("malformed LLDPDU")

// decodeLLDPDU reads an LLDPDU (the frame's payload) into neighbour
// fields and its TTL. A frame that does not decode, or lacks a chassis
// ID, port ID or TTL, is an error; an optional TLV that does not decode
// is skipped, as 802.1AB asks.
func decodeLLDPDU(b []byte) (map[string]string, time.Duration, error) {
	b, err := cutLLDPDU(b)
	if err != nil {
		return nil, 0, err
	}
	var f lldp.Frame
	if err := f.UnmarshalBinary(b); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if len(f.ChassisID.ID) == 0 || len(f.PortID.ID) == 0 {
		return nil, 0, fmt.Errorf("%w: empty chassis or port ID", errMalformed)
	}
	fields := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			fields[k] = v
		}
	}
	fields[wire.FieldChassisID] = formatLLDPID(f.ChassisID.ID,
		f.ChassisID.Subtype == lldp.ChassisIDSubtypeMACAddress, f.ChassisID.Subtype == lldp.ChassisIDSubtypeNetworkAddress)
	set(wire.FieldChassisIDSubtype, chassisSubtypes[f.ChassisID.Subtype])
	fields[wire.FieldPortID] = formatLLDPID(f.PortID.ID,
		f.PortID.Subtype == lldp.PortIDSubtypeMACAddress, f.PortID.Subtype == lldp.PortIDSubtypeNetworkAddress)
	set(wire.FieldPortIDSubtype, portSubtypes[f.PortID.Subtype])
	var mgmt []string
	var vlans []int
	for _, t := range f.Optional {
		switch t.Type {
		case lldp.TLVTypePortDescription:
			set(wire.FieldPortDescr, lldpText(t.Value))
		case lldp.TLVTypeSystemName:
			set(wire.FieldSysName, lldpText(t.Value))
		case lldp.TLVTypeManagementAddress:
			if ip, ok := mgmtAddr(t.Value); ok && !slices.Contains(mgmt, ip) {
				mgmt = append(mgmt, ip)
			}
		case lldp.TLVTypeOrganizationSpecific:
			v := t.Value
			if len(v) < 6 || [3]byte(v[:3]) != oui8021 {
				continue
			}
			vid := int(binary.BigEndian.Uint16(v[4:6]))
			switch v[3] {
			case dot1PortVLANID:
				if validVID(vid) { // 0: the port is not VLAN-aware
					fields[wire.FieldPVID] = strconv.Itoa(vid)
				}
			case dot1VLANName:
				if len(v) >= 7 && len(v) >= 7+int(v[6]) && validVID(vid) {
					vlans = append(vlans, vid)
				}
			}
		}
	}
	set(wire.FieldMgmtAddr, strings.Join(mgmt, " "))
	set(wire.FieldVLANs, formatVLANs(vlans))
	return fields, f.TTL, nil
}

// cutLLDPDU returns the TLVs up to and with the End TLV, dropping the
// padding that follows it in a short frame (which the decoder would read
// as more TLVs). Each TLV must fit in b; an LLDPDU without an End TLV
// (optional since 802.1AB-2009) gets one.
func cutLLDPDU(b []byte) ([]byte, error) {
	off := 0
	for off+2 <= len(b) {
		hdr := binary.BigEndian.Uint16(b[off:])
		typ, n := hdr>>9, int(hdr&0x1ff)
		if off+2+n > len(b) {
			return nil, fmt.Errorf("%w: TLV type %d of %d bytes runs past the frame's end", errMalformed, typ, n)
		}
		if typ == 0 {
			return b[:off+2], nil
		}
		off += 2 + n
	}
	if off != len(b) {
		return nil, fmt.Errorf("%w: truncated TLV header", errMalformed)
	}
	return append(b[:off:off], 0, 0), nil
}

func validVID(v int) bool { return v >= 1 && v <= 4094 }

func formatVLANs(vs []int) string {
	sort.Ints(vs)
	vs = slices.Compact(vs)
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, " ")
}

// formatLLDPID writes a chassis or port ID: a MAC address as
// aa:bb:cc:dd:ee:ff, a network address (IANA family byte, then the
// address) as the IP, anything else as text when it is printable UTF-8
// and as colon-separated hex when not.
func formatLLDPID(b []byte, mac, netAddr bool) string {
	switch {
	case mac && len(b) == 6:
		return net.HardwareAddr(b).String()
	case netAddr:
		if ip, ok := ianaAddr(b); ok {
			return ip
		}
	case printable(b):
		return string(b)
	}
	return hexColons(b)
}

// ianaAddr reads an IANA address family number (1 IPv4, 2 IPv6) and
// the address after it.
func ianaAddr(b []byte) (string, bool) {
	if len(b) == 0 {
		return "", false
	}
	if a, ok := netip.AddrFromSlice(b[1:]); ok && (b[0] == 1 && a.Is4() || b[0] == 2 && a.Is6()) {
		return a.String(), true
	}
	return "", false
}

// mgmtAddr reads a management address TLV: the address string's length
// (family byte and address), the string, then interface numbering (5
// bytes) and an OID string (length byte first). Only IP addresses count.
func mgmtAddr(v []byte) (string, bool) {
	if len(v) < 1 {
		return "", false
	}
	n := int(v[0])
	if n < 2 || n > 32 || len(v) < 1+n+5+1 || len(v) < 1+n+5+1+int(v[1+n+5]) {
		return "", false
	}
	return ianaAddr(v[1 : 1+n])
}

func printable(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}

func hexColons(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

// lldpText makes a free-text TLV (port description, system name) a
// field: devices pad with NULs or spaces, and a field must be UTF-8
// without control characters.
func lldpText(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, strings.TrimRight(s, "\x00"))
	return strings.TrimSpace(s)
}
