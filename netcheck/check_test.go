package netcheck

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/storagegrid/storagegrid/finding"
)

func TestRequirements(t *testing.T) {
	t.Parallel()
	cfg := Map{
		"NODE_TYPE":              "VM_Storage_Node",
		"GRID_NETWORK_TARGET":    "bond0.1001",
		"GRID_NETWORK_IP":        "10.1.0.3",
		"GRID_NETWORK_MASK":      "255.255.255.0",
		"GRID_NETWORK_MTU":       "9000",
		"ADMIN_NETWORK_TARGET":   "eth1",
		"ADMIN_NETWORK_CONFIG":   "DHCP",
		"CLIENT_NETWORK_TARGET":  "eth2",
		"CLIENT_NETWORK_IP":      "192.168.7.9",
		"CLIENT_NETWORK_MTU":     "big",
		"INTERFACE_TARGET_0002":  "ens256, Trunk",
		"INTERFACE_TARGET_0001":  "ens224",
		"INTERFACE_TARGET_1":     "ignored",
		"GRID_NETWORK_GATEWAY":   "10.1.0.1",
		"ADMIN_NETWORK_ESL":      "10.0.0.0/8",
		"BLOCK_DEVICE_VAR_LOCAL": "/dev/mapper/x",
	}
	got, err := Requirements("DC1-S3", cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []Requirement{
		{Node: "DC1-S3", Key: "GRID_NETWORK_TARGET", Interface: "bond0.1001", Network: "GRID", MTU: 9000,
			Address: netip.MustParsePrefix("10.1.0.3/24"), Static: true},
		{Node: "DC1-S3", Key: "ADMIN_NETWORK_TARGET", Interface: "eth1", Network: "ADMIN", MTU: DefaultMTU, MTUDefaulted: true},
		// A malformed MTU is the validator's to report: no MTU check here.
		// An IP without CONFIG is not used: the Client Network is
		// DISABLED unless CLIENT_NETWORK_CONFIG says otherwise.
		{Node: "DC1-S3", Key: "CLIENT_NETWORK_TARGET", Interface: "eth2", Network: "CLIENT"},
		{Node: "DC1-S3", Key: "INTERFACE_TARGET_0001", Interface: "ens224"},
		{Node: "DC1-S3", Key: "INTERFACE_TARGET_0002", Interface: "ens256"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Requirements =\n%+v\nwant\n%+v", got, want)
	}

	_, err = Requirements("DC1-S4", Map{"NODE_TYPE": "VM_Storage_Node", "GRID_NETWORK_IP": "10.1.0.4"}, true)
	if !errors.Is(err, ErrNoTargets) || !strings.Contains(err.Error(), "node DC1-S4: no network targets") {
		t.Errorf("node without targets: err = %v", err)
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"eth0", "bond0.1001", "ens256", "a-b_c@1", "abcdefghijklmno"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "abcdefghijklmnop", "eth0/1", "../eth0", "eth 0", "eth0:1"} {
		if err := ValidName(bad); err == nil {
			t.Errorf("ValidName(%q) accepted", bad)
		}
	}
}

// checkNS builds a namespace holding each situation the checks tell
// apart, all as real kernel links.
func checkNS(t *testing.T) *testNS {
	n := newNS(t)
	n.veth("ok0", "ok0p", nil) // up, carrier, MTU 9000
	n.mtu("ok0", 9000)
	n.mtu("ok0p", 9000)
	n.veth("dn0", "dn0p", nil) // administratively down
	n.veth("nc0", "nc0p", nil) // up, but its peer is down: no carrier
	// br0 stays down: an empty bridge that is up has carrier on some
	// kernels and not on others.
	n.add(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}})
	n.add(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br1"}})
	n.veth("mem0", "mem0p", nil) // enslaved to br1
	n.master("mem0", "br1")
	n.veth("small0", "small0p", nil) // MTU 1300, below the default 1500
	n.mtu("small0", 1300)
	n.up("ok0", "ok0p", "dn0p", "nc0", "mem0", "mem0p", "small0", "small0p")
	return n
}

func TestCheck(t *testing.T) {
	t.Parallel()
	n := checkNS(t)
	v := n.view()
	cases := []struct {
		key, iface, mtu string
		want            []string // "severity|key|value|message" of each finding
	}{
		{"GRID_NETWORK_TARGET", "ok0", "9000", nil},
		{"GRID_NETWORK_TARGET", "missing0", "", []string{
			"error|GRID_NETWORK_TARGET|missing0|missing0 is not a valid interface.  See `ip link show`"}},
		{"GRID_NETWORK_TARGET", "dn0", "", []string{
			"warning|GRID_NETWORK_TARGET|dn0|dn0 is down (ip link set dn0 up)"}},
		{"ADMIN_NETWORK_TARGET", "nc0", "", []string{
			"warning|ADMIN_NETWORK_TARGET|nc0|nc0 is up but has no carrier (cable, switch port or peer down)"}},
		{"GRID_NETWORK_TARGET", "br0", "", []string{
			"error|GRID_NETWORK_TARGET|br0|br0 is a bridge; do not use a bond or bridge directly, use a VLAN (or veth) on top of it, e.g. br0.100",
			"warning|GRID_NETWORK_TARGET|br0|br0 is down (ip link set br0 up)"}},
		{"CLIENT_NETWORK_TARGET", "mem0", "", []string{
			"error|CLIENT_NETWORK_TARGET|mem0|mem0 is a member of br1 and carries no traffic of its own; use a VLAN on top of br1"}},
		{"GRID_NETWORK_TARGET", "ok0", "9216", []string{
			"error|GRID_NETWORK_MTU|9216|GRID_NETWORK_MTU 9216 is above the MTU 9000 of interface ok0"}},
		{"GRID_NETWORK_TARGET", "small0", "", []string{
			"error|GRID_NETWORK_TARGET|small0|the default GRID_NETWORK_MTU 1500 is above the MTU 1300 of interface small0; set GRID_NETWORK_MTU or raise the interface MTU"}},
		{"GRID_NETWORK_TARGET", "small0", "1280", nil},
		{"GRID_NETWORK_TARGET", "bond0.1001-extra", "", []string{
			"error|GRID_NETWORK_TARGET|bond0.1001-extra|bond0.1001-extra is not a valid interface name: longer than 15 characters"}},
		{"GRID_NETWORK_TARGET", "../eth0", "", []string{
			`error|GRID_NETWORK_TARGET|../eth0|"../eth0" is not a valid interface name: contains '/', ':' or white space`}},
		// INTERFACE_TARGET_nnnn carries no MTU: only existence and state.
		{"INTERFACE_TARGET_0001", "small0", "", nil},
	}
	for _, c := range cases {
		cfg := Map{c.key: c.iface}
		if c.mtu != "" {
			cfg[strings.TrimSuffix(c.key, "_TARGET")+"_MTU"] = c.mtu
		}
		reqs, err := Requirements("DC1-S1", cfg, false)
		if err != nil {
			t.Fatal(err)
		}
		got := flatten(Check(v, reqs))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s = %s (MTU %q):\n got %q\nwant %q", c.key, c.iface, c.mtu, got, c.want)
		}
	}
}

// The state checks follow the kernel: fixing the link clears the finding.
func TestCheckFollowsChanges(t *testing.T) {
	t.Parallel()
	n := checkNS(t)
	reqs, _ := Requirements("DC1-S1", Map{"GRID_NETWORK_TARGET": "dn0", "CLIENT_NETWORK_TARGET": "small0"}, false)
	if fs := Check(n.view(), reqs); len(fs) != 2 {
		t.Fatalf("before: %q", flatten(fs))
	}
	n.up("dn0", "dn0p")
	n.mtu("small0", 1500)
	if fs := Check(n.view(), reqs); len(fs) != 0 {
		t.Errorf("after fixing: %q", flatten(fs))
	}
	n.down("small0p")
	if got := flatten(Check(n.view(), reqs)); !slices.Equal(got, []string{
		"warning|CLIENT_NETWORK_TARGET|small0|small0 is up but has no carrier (cable, switch port or peer down)"}) {
		t.Errorf("after peer down: %q", got)
	}
}

// Links this kernel may not create (802.1Q, bonding) are checked from a
// view built out of the netlink objects the kernel would report.
func TestCheckVLANAndBond(t *testing.T) {
	t.Parallel()
	attrs := func(name string, idx int, up, carrier bool) netlink.LinkAttrs {
		a := netlink.NewLinkAttrs()
		a.Name, a.Index, a.MTU = name, idx, 1500
		a.HardwareAddr = net.HardwareAddr{2, 0, 0, 0, 0, byte(idx)}
		if up {
			a.Flags |= net.FlagUp
			a.RawFlags |= 0x1
		}
		if carrier {
			a.RawFlags |= 0x10000 // IFF_LOWER_UP
		}
		return a
	}
	eth0 := attrs("eth0", 2, true, true)
	eth0.MasterIndex = 4
	eth1 := attrs("eth1", 3, true, true)
	eth1.MasterIndex = 4
	vlanUp := attrs("bond0.1001", 5, true, true)
	vlanUp.ParentIndex = 4
	bond := netlink.NewLinkBond(attrs("bond0", 4, true, true))
	bond.Mode = netlink.BOND_MODE_802_3AD
	eth9 := attrs("eth9", 6, false, false)
	vlanDown := attrs("eth9.20", 7, true, false)
	vlanDown.ParentIndex = 6
	links := []netlink.Link{
		&netlink.Device{LinkAttrs: eth0}, &netlink.Device{LinkAttrs: eth1}, bond,
		&netlink.Vlan{LinkAttrs: vlanUp, VlanId: 1001},
		&netlink.Device{LinkAttrs: eth9}, &netlink.Vlan{LinkAttrs: vlanDown, VlanId: 20},
	}
	v := buildView(links, nil, nil)
	if b := v.Link("bond0"); b.Type != Bond || b.BondMode != "802.3ad" || !slices.Equal(b.Slaves, []string{"eth0", "eth1"}) {
		t.Errorf("bond0 = %+v", b)
	}
	if vl := v.Link("bond0.1001"); vl.Type != VLAN || vl.VLANID != 1001 || vl.Parent != "bond0" {
		t.Errorf("bond0.1001 = %+v", vl)
	}
	reqs, _ := Requirements("DC1-S1", Map{
		"GRID_NETWORK_TARGET":   "bond0.1001",
		"ADMIN_NETWORK_TARGET":  "bond0",
		"CLIENT_NETWORK_TARGET": "eth9.20",
		"INTERFACE_TARGET_0001": "eth1",
	}, false)
	want := []string{
		"error|ADMIN_NETWORK_TARGET|bond0|bond0 is a bond; do not use a bond or bridge directly, use a VLAN (or veth) on top of it, e.g. bond0.100",
		"error|CLIENT_NETWORK_TARGET|eth9.20|VLAN parent eth9 of eth9.20 is down or has no carrier",
		"error|INTERFACE_TARGET_0001|eth1|eth1 is a member of bond0 and carries no traffic of its own; use a VLAN on top of bond0",
	}
	if got := flatten(Check(v, reqs)); !slices.Equal(got, want) {
		t.Errorf("Check:\n got %q\nwant %q", got, want)
	}

	// A VLAN whose parent lives in another namespace names no link here.
	vlanDown.NetNsID = 3
	v = buildView([]netlink.Link{&netlink.Device{LinkAttrs: eth9}, &netlink.Vlan{LinkAttrs: vlanDown, VlanId: 20}}, nil, nil)
	if p := v.Link("eth9.20").Parent; p != "" {
		t.Errorf("parent in another namespace resolved to %q", p)
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	here, there := newNS(t), newNS(t)
	for _, n := range []*testNS{here, there} {
		n.veth("grid0", "grid0p", nil)
		n.veth("adm0", "adm0p", nil)
		n.up("grid0", "grid0p", "adm0", "adm0p")
	}
	here.mtu("grid0", 9000)
	here.mtu("grid0p", 9000)
	here.veth("cli0", "cli0p", nil)
	here.up("cli0", "cli0p")
	there.add(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "ens224"}})
	here.veth("ens224", "ens224p", nil)

	local, other := here.view(), there.view()
	other.Host = "host-b"
	reqs, _ := Requirements("DC1-S3", Map{
		"GRID_NETWORK_TARGET":   "grid0",
		"GRID_NETWORK_MTU":      "9000",
		"ADMIN_NETWORK_TARGET":  "adm0",
		"CLIENT_NETWORK_TARGET": "cli0",
		"INTERFACE_TARGET_0001": "ens224",
	}, false)
	fs := Compare(reqs, local, other)
	want := []string{
		"error|GRID_NETWORK_MTU|9000|GRID_NETWORK_MTU 9000 is above the MTU 1500 of interface grid0",
		"error|CLIENT_NETWORK_TARGET|cli0|cli0 is not a valid interface.  See `ip link show`",
		"error|INTERFACE_TARGET_0001|ens224|ens224 is a bridge; do not use a bond or bridge directly, use a VLAN (or veth) on top of it, e.g. ens224.100",
		"warning|INTERFACE_TARGET_0001|ens224|ens224 is down (ip link set ens224 up)",
		"warning|GRID_NETWORK_TARGET|grid0|grid0 has MTU 9000 here but MTU 1500 on host-b",
		"warning|INTERFACE_TARGET_0001|ens224|ens224 is a veth interface here but a bridge interface on host-b",
	}
	if got := flatten(fs); !slices.Equal(got, want) {
		t.Errorf("Compare:\n got %q\nwant %q", got, want)
	}
	for _, f := range fs {
		if f.Host != "host-b" || f.Node != "DC1-S3" {
			t.Errorf("finding %+v: want Host host-b, Node DC1-S3", f)
		}
	}
	if fs := Compare(reqs[:2], local, local); len(fs) != 0 {
		t.Errorf("a host compared with itself: %q", flatten(fs))
	}
}

func TestCompareVLANID(t *testing.T) {
	t.Parallel()
	here := &View{Links: []Link{{Name: "bond0.1001", Type: VLAN, VLANID: 1001, MTU: 1500, AdminUp: true, Carrier: true}}}
	there := &View{Host: "host-b", Links: []Link{{Name: "bond0.1001", Type: VLAN, VLANID: 1002, MTU: 1500, AdminUp: true, Carrier: true}}}
	reqs := []Requirement{{Node: "DC1-S3", Key: "GRID_NETWORK_TARGET", Interface: "bond0.1001", Network: "GRID", MTU: 1500}}
	want := []string{"error|GRID_NETWORK_TARGET|bond0.1001|bond0.1001 is VLAN 1001 here but VLAN 1002 on host-b"}
	if got := flatten(Compare(reqs, here, there)); !slices.Equal(got, want) {
		t.Errorf("Compare:\n got %q\nwant %q", got, want)
	}
	there.Links[0] = Link{Name: "bond0.1001", Type: Physical, MTU: 1500, AdminUp: true, Carrier: true}
	want = []string{"warning|GRID_NETWORK_TARGET|bond0.1001|bond0.1001 is a VLAN 1001 here but a physical interface on host-b"}
	if got := flatten(Compare(reqs, here, there)); !slices.Equal(got, want) {
		t.Errorf("Compare:\n got %q\nwant %q", got, want)
	}
}

func flatten(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s|%s|%s|%s", f.Severity, f.Key, f.Value, f.Message))
	}
	return out
}
