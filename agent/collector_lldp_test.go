package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/lldp"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/storagegrid/storagegrid/netcheck"
	"github.com/storagegrid/storagegrid/wire"
)

// lldpNet creates two network namespaces of the test's own: near, where
// the collector runs, and far, where the neighbours send from, joined by
// n veth pairs sg-lI (near) and sg-rI (far).
func lldpNet(t *testing.T, n int) (near, far netns.NsHandle) {
	t.Helper()
	near, far = newNetns(t), newNetns(t)
	for i := range n {
		addLLDPPair(t, near, far, i)
	}
	return near, far
}

func newNetns(t *testing.T) netns.NsHandle {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

func addLLDPPair(t *testing.T, near, far netns.NsHandle, i int) {
	t.Helper()
	h, err := netlink.NewHandleAt(near)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, r := fmt.Sprintf("sg-l%d", i), fmt.Sprintf("sg-r%d", i)
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: l}, PeerName: r, PeerNamespace: netlink.NsFd(far)}); err != nil {
		t.Fatal(err)
	}
	setUp(t, near, l)
	setUp(t, far, r)
}

func setUp(t *testing.T, ns netns.NsHandle, name string) {
	t.Helper()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err == nil {
		err = h.LinkSetUp(l)
	}
	if err != nil {
		t.Fatalf("%s up: %v", name, err)
	}
}

// lldpSender sends Ethernet frames out of one link.
type lldpSender struct {
	conn *packet.Conn
	mac  net.HardwareAddr
}

func newLLDPSender(t *testing.T, ns netns.NsHandle, name string) *lldpSender {
	t.Helper()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	ifi := &net.Interface{Index: l.Attrs().Index, Name: name}
	conn, err := netcheck.InNamespace(&ns, func() (*packet.Conn, error) {
		return packet.Listen(ifi, packet.Raw, int(lldp.EtherType), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &lldpSender{conn: conn, mac: l.Attrs().HardwareAddr}
}

// send sends an LLDPDU to the LLDP group, padded as a NIC pads a short
// frame (ethernet.Frame does).
func (s *lldpSender) send(t *testing.T, lldpdu []byte) {
	t.Helper()
	b, err := (&ethernet.Frame{Destination: lldpMulticast, Source: s.mac, EtherType: lldp.EtherType, Payload: lldpdu}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.conn.WriteTo(b, &packet.Addr{HardwareAddr: lldpMulticast}); err != nil {
		t.Fatal(err)
	}
}

func lldpFrame(t *testing.T, cs lldp.ChassisIDSubtype, chassis []byte, ps lldp.PortIDSubtype, port []byte, ttl time.Duration, opt ...*lldp.TLV) []byte {
	t.Helper()
	b, err := (&lldp.Frame{ChassisID: &lldp.ChassisID{Subtype: cs, ID: chassis}, PortID: &lldp.PortID{Subtype: ps, ID: port},
		TTL: ttl, Optional: opt}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tlv(typ lldp.TLVType, v []byte) *lldp.TLV {
	return &lldp.TLV{Type: typ, Length: uint16(len(v)), Value: v}
}

func pvidTLV(vid uint16) *lldp.TLV {
	return tlv(lldp.TLVTypeOrganizationSpecific, binary.BigEndian.AppendUint16([]byte{0x00, 0x80, 0xc2, 1}, vid))
}

func vlanNameTLV(vid uint16, name string) *lldp.TLV {
	v := binary.BigEndian.AppendUint16([]byte{0x00, 0x80, 0xc2, 3}, vid)
	return tlv(lldp.TLVTypeOrganizationSpecific, append(append(v, byte(len(name))), name...))
}

// mgmtTLV is a management address TLV: address string (length, IANA
// family, address), interface numbering (ifIndex 7), empty OID.
func mgmtTLV(a netip.Addr) *lldp.TLV {
	fam := byte(1)
	if a.Is6() {
		fam = 2
	}
	v := append([]byte{byte(1 + a.BitLen()/8), fam}, a.AsSlice()...)
	return tlv(lldp.TLVTypeManagementAddress, append(v, 2, 0, 0, 0, 7, 0))
}

func mac(s string) []byte {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// watchLLDP runs c.Watch until the test ends and returns the changes it
// reports, one value per call of changed.
func watchLLDP(t *testing.T, c *lldpCollector) <-chan struct{} {
	t.Helper()
	changes := make(chan struct{}, 100)
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Watch(ctx, func() { changes <- struct{}{} }, func() { close(ready) })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.receivers) != 0 {
			t.Errorf("receivers left open after Watch ended: %v", slices.Collect(maps.Keys(c.receivers)))
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Watch: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Watch not ready within 5s")
	}
	return changes
}

// waitChange waits for one report of a change.
func waitChange(t *testing.T, changes <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-changes:
	case <-time.After(3 * time.Second):
		t.Fatalf("%s: no change reported within 3s", what)
	}
}

// noChange checks that nothing is reported for a while.
func noChange(t *testing.T, changes <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-changes:
		t.Fatalf("%s: a change was reported", what)
	case <-time.After(300 * time.Millisecond):
	}
}

func drain(changes <-chan struct{}) {
	for {
		select {
		case <-changes:
		default:
			return
		}
	}
}

// lldpState is one collection: neighbours by id, metric values by id.
type lldpState struct {
	neighbors map[string]map[string]string
	metrics   map[string]string
}

func collectLLDP(t *testing.T, c *lldpCollector) lldpState {
	t.Helper()
	items, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := lldpState{neighbors: map[string]map[string]string{}, metrics: map[string]string{}}
	for _, it := range items {
		switch it.Kind {
		case wire.KindNeighbor:
			if _, dup := s.neighbors[it.ID]; dup {
				t.Fatalf("neighbor %s reported twice", it.ID)
			}
			s.neighbors[it.ID] = it.Fields
		case wire.KindMetric:
			s.metrics[it.ID] = it.Fields[wire.FieldValue]
		default:
			t.Fatalf("unexpected item %+v", it)
		}
	}
	return s
}

func counters(link string) (received, malformed string) {
	return wire.MetricID("storagegrid_lldp_frames_received_total", "link", link),
		wire.MetricID("storagegrid_lldp_frames_malformed_total", "link", link)
}

// newTestLLDP is the collector on ns, without lldpd: lldpcli, where it
// is installed, would ask the host's lldpd about the host's links.
func newTestLLDP(ns *netns.NsHandle, lldpcli ...string) *lldpCollector {
	if len(lldpcli) == 0 {
		lldpcli = []string{"/nonexistent/lldpcli"}
	}
	c, _ := newLLDP(Sources{Netns: ns})
	lc := c.(*lldpCollector)
	lc.lldpcli = lldpcli
	return lc
}

// TestLLDPNeighboursFromFrames sends crafted LLDPDUs from the far ends of
// veth pairs and checks what the collector at the near ends makes of
// them, and when it reports a change.
func TestLLDPNeighboursFromFrames(t *testing.T) {
	near, far := lldpNet(t, 2)
	c := newTestLLDP(&near)
	changes := watchLLDP(t, c)
	r0, r1 := newLLDPSender(t, far, "sg-r0"), newLLDPSender(t, far, "sg-r1")

	full := lldpFrame(t, lldp.ChassisIDSubtypeMACAddress, mac("02:00:00:00:0a:01"), lldp.PortIDSubtypeInterfaceName, []byte("Ethernet1/1"), 120*time.Second,
		tlv(lldp.TLVTypePortDescription, []byte("to dc1-h1 eth0")),
		tlv(lldp.TLVTypeSystemName, []byte("dc1-leaf1")),
		tlv(lldp.TLVTypeSystemDescription, []byte("Arista Networks EOS")),
		mgmtTLV(netip.MustParseAddr("10.0.0.1")), mgmtTLV(netip.MustParseAddr("2001:db8::1")), mgmtTLV(netip.MustParseAddr("10.0.0.1")),
		pvidTLV(1001), vlanNameTLV(3000, "storage"), vlanNameTLV(1001, "grid-fe"), vlanNameTLV(1002, "grid-admin"), vlanNameTLV(1001, "grid-fe"),
		tlv(lldp.TLVTypeOrganizationSpecific, []byte{0x00, 0x12, 0x0f, 1, 3, 0x6c, 0x00, 0x10})) // IEEE 802.3 MAC/PHY: not ours
	r0.send(t, full)
	waitChange(t, changes, "a neighbour with every TLV")
	minimal := func(ttl time.Duration) []byte {
		return lldpFrame(t, lldp.ChassisIDSubtypeLocallyAssigned, []byte("sw-b"), lldp.PortIDSubtypeLocallyAssigned, []byte("17"), ttl)
	}
	r0.send(t, minimal(120*time.Second))
	waitChange(t, changes, "a second neighbour on the same link")
	r1.send(t, lldpFrame(t, lldp.ChassisIDSubtypeNetworkAddress, []byte{1, 192, 0, 2, 9}, lldp.PortIDSubtypeMACAddress, mac("02:00:00:00:0c:07"), 120*time.Second,
		tlv(lldp.TLVTypeSystemName, []byte("dc1-leaf2"))))
	waitChange(t, changes, "a neighbour on another link")

	// Malformed: a TLV longer than the frame (the frame is longer than
	// the minimum, so no padding makes up for it), and no TTL TLV.
	trunc := lldpFrame(t, lldp.ChassisIDSubtypeLocallyAssigned, []byte("sw-x"), lldp.PortIDSubtypeLocallyAssigned, []byte("1"), time.Minute,
		tlv(lldp.TLVTypePortDescription, []byte(strings.Repeat("d", 40))))
	trunc = trunc[:len(trunc)-2]                                                    // without its End TLV
	trunc = append(trunc, byte(lldp.TLVTypeSystemName)<<1, 200, 'a', 'b', 'c', 'd') // says 200 bytes, has 4
	r1.send(t, trunc)
	noTTL := append(tlvBytes(t, tlv(lldp.TLVTypeChassisID, []byte("\x07sw-y"))), tlvBytes(t, tlv(lldp.TLVTypePortID, []byte("\x072")))...)
	r1.send(t, append(noTTL, 0, 0))
	noChange(t, changes, "malformed frames")

	got := collectLLDP(t, c)
	want := map[string]map[string]string{
		"sg-l0/02:00:00:00:0a:01/Ethernet1/1": {"link": "sg-l0", "chassis_id": "02:00:00:00:0a:01", "chassis_id_subtype": "mac",
			"port_id": "Ethernet1/1", "port_id_subtype": "interface-name", "port_descr": "to dc1-h1 eth0", "sys_name": "dc1-leaf1",
			"mgmt_addr": "10.0.0.1 2001:db8::1", "pvid": "1001", "vlans": "1001 1002 3000", "source": "lldp"},
		"sg-l0/sw-b/17": {"link": "sg-l0", "chassis_id": "sw-b", "chassis_id_subtype": "local",
			"port_id": "17", "port_id_subtype": "local", "source": "lldp"},
		"sg-l1/192.0.2.9/02:00:00:00:0c:07": {"link": "sg-l1", "chassis_id": "192.0.2.9", "chassis_id_subtype": "network-address",
			"port_id": "02:00:00:00:0c:07", "port_id_subtype": "mac", "sys_name": "dc1-leaf2", "source": "lldp"},
	}
	checkNeighbors(t, got, want)
	rx0, bad0 := counters("sg-l0")
	rx1, bad1 := counters("sg-l1")
	wantMetrics := map[string]string{rx0: "2", bad0: "0", rx1: "3", bad1: "2"}
	if !maps.Equal(got.metrics, wantMetrics) {
		t.Fatalf("metrics %v, want %v", got.metrics, wantMetrics)
	}

	// The same advertisement again changes nothing; frames the host
	// sends itself (its own lldpd's) are not heard as a neighbour's.
	r0.send(t, full)
	noChange(t, changes, "a repeated advertisement")
	newLLDPSender(t, near, "sg-l0").send(t, lldpFrame(t, lldp.ChassisIDSubtypeLocallyAssigned, []byte("me"), lldp.PortIDSubtypeLocallyAssigned, []byte("sg-l0"), time.Minute))
	r0.send(t, minimal(120*time.Second))
	waitFor(t, func() bool { return collectLLDP(t, c).metrics[rx0] == "4" })
	if got := collectLLDP(t, c); len(got.neighbors) != 3 {
		t.Fatalf("after an outgoing frame: %v", got.neighbors)
	}

	// TTL 0: the neighbour shuts down and is gone at once.
	r0.send(t, minimal(0))
	waitChange(t, changes, "a TTL 0 frame")
	delete(want, "sg-l0/sw-b/17")
	checkNeighbors(t, collectLLDP(t, c), want)

	// A TTL of 1 s: there, then gone, reported when it expires.
	sent := time.Now()
	r1.send(t, lldpFrame(t, lldp.ChassisIDSubtypeLocallyAssigned, []byte("brief"), lldp.PortIDSubtypeLocallyAssigned, []byte("9"), time.Second))
	waitChange(t, changes, "a neighbour with a TTL of 1s")
	if _, ok := collectLLDP(t, c).neighbors["sg-l1/brief/9"]; !ok {
		t.Fatal("the neighbour with a TTL of 1s is not reported")
	}
	waitChange(t, changes, "the expiry of a TTL of 1s")
	if d := time.Since(sent); d < 900*time.Millisecond {
		t.Fatalf("expired after %v, before its TTL of 1s", d)
	}
	checkNeighbors(t, collectLLDP(t, c), want)
}

// TestLLDPLinksComeAndGo: a link added while the agent watches is
// listened to without waiting for a collection, and a link removed takes
// its neighbours and counters along.
func TestLLDPLinksComeAndGo(t *testing.T) {
	near, far := lldpNet(t, 1)
	c := newTestLLDP(&near)
	changes := watchLLDP(t, c)
	addLLDPPair(t, near, far, 1)
	r1 := newLLDPSender(t, far, "sg-r1")
	frame := lldpFrame(t, lldp.ChassisIDSubtypeInterfaceName, []byte("sw-new"), lldp.PortIDSubtypeInterfaceAlias, []byte("uplink B"), time.Minute)
	// The new link is opened when netlink announces it, so the first
	// frames may come too early: send until one is heard.
	heard := false
	for deadline := time.Now().Add(5 * time.Second); !heard && time.Now().Before(deadline); {
		r1.send(t, frame)
		select {
		case <-changes:
			heard = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !heard {
		t.Fatal("no neighbour heard on a link added while watching")
	}
	drain(changes)
	rx1, bad1 := counters("sg-l1")
	got := collectLLDP(t, c)
	checkNeighbors(t, got, map[string]map[string]string{"sg-l1/sw-new/uplink B": {"link": "sg-l1", "chassis_id": "sw-new",
		"chassis_id_subtype": "interface-name", "port_id": "uplink B", "port_id_subtype": "interface-alias", "source": "lldp"}})
	if got.metrics[bad1] != "0" || got.metrics[rx1] == "" || got.metrics[rx1] == "0" {
		t.Fatalf("metrics %v", got.metrics)
	}

	h, err := netlink.NewHandleAt(near)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName("sg-l1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkDel(l); err != nil {
		t.Fatal(err)
	}
	waitChange(t, changes, "removing the neighbour's link")
	got = collectLLDP(t, c)
	rx0, bad0 := counters("sg-l0")
	if len(got.neighbors) != 0 || !maps.Equal(got.metrics, map[string]string{rx0: "0", bad0: "0"}) {
		t.Fatalf("after removing sg-l1: %v %v", got.neighbors, got.metrics)
	}
}

// TestLLDPCollectStartsReceiving: without a watch (agent once), the first
// collection opens the receivers and later ones report what they heard.
func TestLLDPCollectStartsReceiving(t *testing.T) {
	near, far := lldpNet(t, 1)
	c := newTestLLDP(&near)
	t.Cleanup(c.stop)
	rx0, bad0 := counters("sg-l0")
	if got := collectLLDP(t, c); len(got.neighbors) != 0 || !maps.Equal(got.metrics, map[string]string{rx0: "0", bad0: "0"}) {
		t.Fatalf("first collection: %+v", got)
	}
	newLLDPSender(t, far, "sg-r0").send(t, lldpFrame(t, lldp.ChassisIDSubtypeMACAddress, mac("02:00:00:00:0d:01"),
		lldp.PortIDSubtypeInterfaceName, []byte("swp1"), time.Minute))
	waitFor(t, func() bool { return len(collectLLDP(t, c).neighbors) == 1 })
	c.stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.receivers) != 0 || len(c.neighbors) != 0 {
		t.Fatalf("after stop: receivers %v, neighbours %v", c.receivers, c.neighbors)
	}
}

func tlvBytes(t *testing.T, x *lldp.TLV) []byte {
	t.Helper()
	b, err := x.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkNeighbors(t *testing.T, got lldpState, want map[string]map[string]string) {
	t.Helper()
	for id, w := range want {
		if g, ok := got.neighbors[id]; !ok {
			t.Errorf("neighbor %s missing", id)
		} else if !maps.Equal(g, w) {
			t.Errorf("neighbor %s:\n got %v\nwant %v", id, g, w)
		}
	}
	for id := range got.neighbors {
		if _, ok := want[id]; !ok {
			t.Errorf("unexpected neighbor %s: %v", id, got.neighbors[id])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// TestDecodeLLDPDU covers what a frame on the wire may look like beyond
// what the namespace test sends.
func TestDecodeLLDPDU(t *testing.T) {
	base := func(chassis, port *lldp.TLV, opt ...*lldp.TLV) []byte {
		b := append(tlvBytes(t, chassis), tlvBytes(t, port)...)
		b = append(b, tlvBytes(t, tlv(lldp.TLVTypeTTL, []byte{0, 120}))...)
		for _, o := range opt {
			b = append(b, tlvBytes(t, o)...)
		}
		return b
	}
	chassis := func(sub byte, id ...byte) *lldp.TLV { return tlv(lldp.TLVTypeChassisID, append([]byte{sub}, id...)) }
	port := func(sub byte, id ...byte) *lldp.TLV { return tlv(lldp.TLVTypePortID, append([]byte{sub}, id...)) }
	v6 := netip.MustParseAddr("2001:db8::5").AsSlice()
	for _, tc := range []struct {
		name   string
		b      []byte
		want   map[string]string // nil: malformed
		ttlSec int
	}{
		{"padded after End", append(base(chassis(7, 'a'), port(7, 'b')), 0, 0, 0, 0, 0, 0, 0),
			map[string]string{"chassis_id": "a", "chassis_id_subtype": "local", "port_id": "b", "port_id_subtype": "local"}, 120},
		{"no End TLV (802.1AB-2009)", base(chassis(7, 'a'), port(7, 'b')),
			map[string]string{"chassis_id": "a", "chassis_id_subtype": "local", "port_id": "b", "port_id_subtype": "local"}, 120},
		{"binary ID as hex, IPv6 chassis, reserved subtype", append(base(chassis(5, append([]byte{2}, v6...)...), port(0, 0x01, 0x02, 0xff)), 0, 0),
			map[string]string{"chassis_id": "2001:db8::5", "chassis_id_subtype": "network-address", "port_id": "01:02:ff"}, 120},
		{"MAC subtype of the wrong length as hex", append(base(chassis(4, 1, 2, 3), port(3, 'x')), 0, 0),
			map[string]string{"chassis_id": "01:02:03", "chassis_id_subtype": "mac", "port_id": "x", "port_id_subtype": "mac"}, 120},
		{"bad optional TLVs are skipped", append(base(chassis(7, 'a'), port(7, 'b'),
			tlv(lldp.TLVTypeManagementAddress, []byte{7, 6, 1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0}), // a MAC: not an IP
			tlv(lldp.TLVTypeManagementAddress, []byte{5, 1, 10}),                                 // short
			pvidTLV(0), // not VLAN-aware
			tlv(lldp.TLVTypeOrganizationSpecific, []byte{0x00, 0x80, 0xc2, 3, 0, 5, 9, 'x'}), // name longer than the TLV
			tlv(lldp.TLVTypeSystemName, []byte("sw\x00\x00")),                                // NUL-terminated
			tlv(lldp.TLVTypePortDescription, []byte("p\x01\xffq"))), 0, 0),                   // control and non-UTF-8 bytes
			map[string]string{"chassis_id": "a", "chassis_id_subtype": "local", "port_id": "b", "port_id_subtype": "local",
				"sys_name": "sw", "port_descr": "p\uFFFD\uFFFDq"}, 120},
		{"empty chassis ID", append(base(chassis(4), port(7, 'b')), 0, 0), nil, 0},
		{"TTL not third", append(append(tlvBytes(t, chassis(7, 'a')), tlvBytes(t, tlv(lldp.TLVTypeTTL, []byte{0, 1}))...), 0, 0), nil, 0},
		{"odd byte after the last TLV", append(base(chassis(7, 'a'), port(7, 'b')), 5), nil, 0},
		{"empty", nil, nil, 0},
	} {
		fields, ttl, err := decodeLLDPDU(tc.b)
		if tc.want == nil {
			if err == nil || !errors.Is(err, errMalformed) {
				t.Errorf("%s: err = %v, fields %v", tc.name, err, fields)
			}
			continue
		}
		if err != nil || !maps.Equal(fields, tc.want) || ttl != time.Duration(tc.ttlSec)*time.Second {
			t.Errorf("%s: %v %v %v, want %v", tc.name, fields, ttl, err, tc.want)
		}
	}
}

// TestParseLLDPCLICaptured reads lldpcli output captured from a real
// lldpd 1.0.16 (testdata/lldpcli/README says how).
func TestParseLLDPCLICaptured(t *testing.T) {
	sw9 := map[string]string{"link": "sgx0", "chassis_id": "9a:16:c9:2a:ef:a4", "chassis_id_subtype": "mac",
		"port_id": "9a:16:c9:2a:ef:a4", "port_id_subtype": "mac", "port_descr": "sgx1", "sys_name": "dc1-sw9",
		"mgmt_addr": "192.0.2.7 fe80::9816:c9ff:fe2a:efa4", "pvid": "100", "vlans": "200 300", "source": "lldpd"}
	for file, want := range map[string]map[string]map[string]string{
		"no-neighbor.json":  {},
		"one-neighbor.json": {"sgx0/9a:16:c9:2a:ef:a4/9a:16:c9:2a:ef:a4": sw9},
		"four-neighbors.json": {
			"sgx0/9a:16:c9:2a:ef:a4/9a:16:c9:2a:ef:a4": sw9,
			"sgx0/10.1.2.3/Ethernet1/7": {"link": "sgx0", "chassis_id": "10.1.2.3", "chassis_id_subtype": "network-address",
				"port_id": "Ethernet1/7", "port_id_subtype": "local", "port_descr": "to storage rack 3", "sys_name": "dc1-leaf3",
				"mgmt_addr": "10.1.2.3", "pvid": "1001", "vlans": "1001", "source": "lldpd"},
			// The chassis 01 02 ff is left out: lldpd shows it as "\u0001\u0002\uFFFD".
			"sgx0/sw2-mgmt/uplink A": {"link": "sgx0", "chassis_id": "sw2-mgmt", "chassis_id_subtype": "interface-name",
				"port_id": "uplink A", "port_id_subtype": "interface-alias", "source": "lldpd"},
		},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", "lldpcli", file))
		if err != nil {
			t.Fatal(err)
		}
		items, err := parseLLDPCLI(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		got := lldpState{neighbors: map[string]map[string]string{}}
		for _, it := range items {
			if it.Kind != wire.KindNeighbor {
				t.Fatalf("%s: %+v", file, it)
			}
			got.neighbors[it.ID] = it.Fields
		}
		t.Run(file, func(t *testing.T) { checkNeighbors(t, got, want) })
	}
	if _, err := parseLLDPCLI([]byte("lldpd not running")); err == nil {
		t.Fatal("not JSON: accepted")
	}
}

// TestLLDPFromRealLLDPD runs Debian's lldpd at the far end of a veth pair,
// as a switch's LLDP agent would be, and checks the collector hears it.
// A second lldpd, receive-only at the near end, is what the collector
// asks through lldpcli: its view of the same neighbour must match the
// frames' field for field, and the frames' one is reported.
func TestLLDPFromRealLLDPD(t *testing.T) {
	if _, err := exec.LookPath("lldpd"); err != nil {
		t.Fatal("needs lldpd (Debian's lldpd package; .ci/run installs it)")
	}
	near, far := lldpNet(t, 1)
	h, err := netlink.NewHandleAt(far)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r0, err := h.LinkByName("sg-r0")
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr("192.0.2.7/24")
	if err := h.AddrAdd(r0, addr); err != nil {
		t.Fatal(err)
	}
	// lldpd's unprivileged half (user _lldpd) opens the control socket
	// there: t.TempDir's parent is closed to it.
	dir, err := os.MkdirTemp("", "sg-lldpd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	nearSock := filepath.Join(dir, "near.sock")
	// Receive-only at the near end, started first so that it hears the
	// far lldpd's first frame.
	startLLDPD(t, near, dir, "near", "-r", "-I", "sg-l0", "-u", nearSock)
	waitFor(t, func() bool {
		out, _ := exec.Command("lldpcli", "-u", nearSock, "show", "interfaces").Output()
		return strings.Contains(string(out), "sg-l0")
	})
	c := newTestLLDP(&near, "lldpcli", "-u", nearSock)
	changes := watchLLDP(t, c)
	conf := filepath.Join(dir, "far.conf")
	os.WriteFile(conf, []byte("configure system hostname dc1-sw9\n"+
		"configure lldp custom-tlv add oui 00,80,c2 subtype 1 oui-info 00,64\n"+ // port VLAN 100
		"configure lldp custom-tlv add oui 00,80,c2 subtype 3 oui-info 00,c8,04,76,32,30,30\n"+ // VLAN 200 "v200"
		"configure lldp custom-tlv add oui 00,80,c2 subtype 3 oui-info 01,2c,04,76,33,30,30\n"), 0o644) // VLAN 300 "v300"
	farSock := filepath.Join(dir, "far.sock")
	startLLDPD(t, far, dir, "far", "-I", "sg-r0", "-u", farSock, "-m", "192.0.2.7",
		"-S", "storagegrid test switch", "-O", conf)

	peer := r0.Attrs().HardwareAddr.String()
	id := wire.NeighborID("sg-l0", peer, peer)
	want := map[string]string{"link": "sg-l0", "chassis_id": peer, "chassis_id_subtype": "mac", "port_id": peer,
		"port_id_subtype": "mac", "port_descr": "sg-r0", "sys_name": "dc1-sw9", "mgmt_addr": "192.0.2.7",
		"pvid": "100", "vlans": "200 300", "source": "lldp"}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := collectLLDP(t, c)
		if maps.Equal(got.neighbors[id], want) && len(got.neighbors) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lldpd's neighbour not heard as %v within 20s; got %v", want, got.neighbors)
		}
		select {
		case <-changes:
		case <-time.After(200 * time.Millisecond):
		}
	}
	// The near lldpd has it too (it heard the same frames); lldpcli's view
	// of it reads the same. Should the near lldpd have missed them, the
	// far one is asked to send again rather than wait its 30s interval.
	want[wire.FieldSource] = "lldpd"
	for resend := time.Now().Add(time.Second); ; {
		var got map[string]string
		for _, it := range c.lldpd(context.Background()) {
			if it.ID == id {
				got = it.Fields
			}
		}
		if maps.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lldpcli's view of the neighbour: %v, want %v", got, want)
		}
		if time.Now().After(resend) {
			exec.Command("lldpcli", "-u", farSock, "update").Run()
			resend = time.Now().Add(time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startLLDPD runs lldpd in the foreground in ns until the test ends. Its
// process starts on a thread switched into ns, so lldpd lives there.
func startLLDPD(t *testing.T, ns netns.NsHandle, dir, name string, args ...string) {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command("lldpd", append([]string{"-d"}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if _, err := netcheck.InNamespace(&ns, func() (struct{}, error) { return struct{}{}, cmd.Start() }); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("lldpd %s:\n%s", name, b)
		}
	})
}
