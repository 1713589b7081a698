package netcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestReadViewAt(t *testing.T) {
	t.Parallel()
	n := newNS(t)
	n.veth("a0", "a1", nil)
	n.add(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}})
	n.add(&netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: "mv0", ParentIndex: n.link("a0").Attrs().Index},
		Mode: netlink.MACVLAN_MODE_BRIDGE})
	n.veth("p0", "p1", nil)
	n.master("p1", "br0")
	n.mtu("a0", 9000)
	n.mtu("a1", 9000)
	n.up("a0", "a1", "br0", "mv0", "p0")
	n.addr("a0", "10.9.8.7/24")
	n.addr("a0", "fd00:9::7/64")
	n.route("10.20.0.0/16", "10.9.8.1", "a0")
	n.route("0.0.0.0/0", "10.9.8.1", "a0")

	v := n.view()
	if v.Version != ViewVersion {
		t.Errorf("Version = %d", v.Version)
	}
	a0 := mustLink(t, v, "a0")
	if a0.Type != Veth || a0.Kind != "veth" || a0.MTU != 9000 || !a0.AdminUp || !a0.Carrier || a0.OperState != "up" {
		t.Errorf("a0 = %+v, want an up veth with carrier and MTU 9000", a0)
	}
	if len(a0.MAC) != 17 {
		t.Errorf("a0 MAC = %q", a0.MAC)
	}
	want := []string{"10.9.8.7/24", "fd00:9::7/64"}
	var got []string
	for _, a := range a0.Addrs {
		if a.Scope == "global" {
			got = append(got, a.Address.String())
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("a0 global addresses = %v, want %v", got, want)
	}
	if mv := mustLink(t, v, "mv0"); mv.Type != Macvlan || mv.Parent != "a0" || mv.ParentIndex != a0.Index {
		t.Errorf("mv0 = %+v, want a macvlan on a0", mv)
	}
	br := mustLink(t, v, "br0")
	if br.Type != Bridge || !slices.Equal(br.Slaves, []string{"p1"}) {
		t.Errorf("br0 = %+v, want a bridge with slave p1", br)
	}
	if p1 := mustLink(t, v, "p1"); p1.Master != "br0" || p1.AdminUp {
		t.Errorf("p1 = %+v, want a down member of br0", p1)
	}
	if p0 := mustLink(t, v, "p0"); !p0.AdminUp || p0.Carrier {
		t.Errorf("p0 = %+v, want up without carrier (its peer is down)", p0)
	}
	if lo := mustLink(t, v, "lo"); lo.Type != Loopback {
		t.Errorf("lo type = %s", lo.Type)
	}
	if !slices.ContainsFunc(v.Routes, func(r Route) bool {
		return r.Dst == "10.20.0.0/16" && r.Gateway == "10.9.8.1" && r.Link == "a0" && r.Family == "inet" && r.Table == 254
	}) {
		t.Errorf("route 10.20.0.0/16 via 10.9.8.1 dev a0 missing from %+v", v.Routes)
	}
	if !slices.ContainsFunc(v.Routes, func(r Route) bool { return r.Dst == "default" && r.Gateway == "10.9.8.1" }) {
		t.Errorf("default route via 10.9.8.1 missing from %+v", v.Routes)
	}
	if got := v.HasAddress(netip.MustParseAddr("10.9.8.7")); got == nil || got.Name != "a0" {
		t.Errorf("HasAddress(10.9.8.7) = %v", got)
	}
}

// A VLAN on a veth, with its parent going down; skipped on kernels
// without 802.1Q support.
func TestReadViewVLAN(t *testing.T) {
	t.Parallel()
	n := newNS(t)
	n.veth("a0", "a1", nil)
	n.add(&netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: "a0.1001", ParentIndex: n.link("a0").Attrs().Index}, VlanId: 1001})
	n.up("a0", "a1", "a0.1001")
	vl := mustLink(t, n.view(), "a0.1001")
	if vl.Type != VLAN || vl.VLANID != 1001 || vl.Parent != "a0" || !vl.Carrier {
		t.Errorf("a0.1001 = %+v, want VLAN 1001 on a0 with carrier", vl)
	}
	n.down("a0")
	if vl := mustLink(t, n.view(), "a0.1001"); vl.Carrier {
		t.Errorf("a0.1001 keeps carrier with its parent down: %+v", vl)
	}
}

// A bond with two veth slaves; skipped on kernels without bonding.
func TestReadViewBond(t *testing.T) {
	t.Parallel()
	n := newNS(t)
	bond := netlink.NewLinkBond(netlink.LinkAttrs{Name: "bond0"})
	bond.Mode = netlink.BOND_MODE_ACTIVE_BACKUP
	n.add(bond)
	n.veth("s0", "s0p", nil)
	n.veth("s1", "s1p", nil)
	n.master("s0", "bond0")
	n.master("s1", "bond0")
	v := n.view()
	b := mustLink(t, v, "bond0")
	if b.Type != Bond || b.BondMode != "active-backup" || !slices.Equal(b.Slaves, []string{"s0", "s1"}) {
		t.Errorf("bond0 = %+v, want active-backup bond of s0, s1", b)
	}
	if s := mustLink(t, v, "s1"); s.Master != "bond0" {
		t.Errorf("s1 master = %q", s.Master)
	}
}

func TestViewJSONRoundTrip(t *testing.T) {
	t.Parallel()
	n := newNS(t)
	n.veth("a0", "a1", nil)
	n.addr("a0", "10.1.2.3/24")
	v := n.view()
	v.Host = "host-a"
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"version":1`, `"host":"host-a"`, `"oper_state":`, `"admin_up":`, `"addresses":[{"address":"10.1.2.3/24","family":"inet","scope":"global"}]`} {
		if !strings.Contains(buf.String(), field) {
			t.Errorf("JSON lacks %s:\n%s", field, buf.String())
		}
	}
	back, err := DecodeView(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Links) != len(v.Links) || back.Link("a0").Addrs[0] != v.Link("a0").Addrs[0] || back.Host != "host-a" {
		t.Errorf("round trip changed the view:\n%+v\n%+v", back, v)
	}
}

func TestDecodeViewRejectsOtherInput(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"empty":        "",
		"garbage":      "ip link show\n",
		"truncated":    `{"version":1,"links":[{"name":"eth0"`,
		"other json":   `{"interfaces":["eth0"]}`,
		"future":       `{"version":2,"links":[{"name":"eth0"}]}`,
		"no links":     `{"version":1,"links":[]}`,
		"bad name":     `{"version":1,"links":[{"name":"../etc"}]}`,
		"wrong type":   `{"version":1,"links":[{"name":"eth0","mtu":"big"}]}`,
		"bad address":  `{"version":1,"links":[{"name":"eth0","addresses":[{"address":"10.1.3"}]}]}`,
		"long ifname":  `{"version":1,"links":[{"name":"abcdefghijklmnop"}]}`,
		"array of two": `[{"version":1},{"version":1}]`,
	} {
		if v, err := DecodeView(strings.NewReader(in)); err == nil {
			t.Errorf("%s: DecodeView accepted %q as %+v", name, in, v)
		}
	}
}

// dump retries an interrupted netlink dump, then settles for its data.
func TestDumpRetriesInterrupted(t *testing.T) {
	t.Parallel()
	calls := 0
	got, err := dump(func() ([]int, error) {
		calls++
		if calls < 3 {
			return []int{calls}, netlink.ErrDumpInterrupted
		}
		return []int{1, 2, 3}, nil
	})
	if err != nil || calls != 3 || !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("dump = %v, %v after %d calls; want the complete third answer", got, err, calls)
	}

	calls = 0
	got, err = dump(func() ([]int, error) {
		calls++
		return []int{calls}, netlink.ErrDumpInterrupted
	})
	if err != nil || calls != dumpAttempts || !slices.Equal(got, []int{dumpAttempts}) {
		t.Errorf("always interrupted: dump = %v, %v after %d calls; want the last data, no error", got, err, calls)
	}

	boom := errors.New("boom")
	if _, err := dump(func() ([]int, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("other errors must pass through, got %v", err)
	}
}

func mustLink(t *testing.T, v *View, name string) *Link {
	t.Helper()
	l := v.Link(name)
	if l == nil {
		t.Fatalf("link %s missing from view %+v", name, v.Links)
	}
	return l
}
