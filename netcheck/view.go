// Package netcheck reads a host's network configuration through netlink
// and checks it against what grid nodes need: the interfaces their
// *_NETWORK_TARGET and INTERFACE_TARGET_nnnn keys name must exist, be up,
// carry the node's MTU and not be a bond or bridge; a static node address
// must not already answer ARP on the wire; and a node moving to another
// host needs the same interfaces there. The agent uses the same view for
// its inventory and the subscriptions in watch.go for change events.
//
// Everything that talks to the kernel takes an optional network
// namespace, so tests (and tools) inspect namespaces without entering
// them from the calling goroutine.
package netcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ViewVersion is the format version written in View.Version; a reader
// refuses other versions rather than misread them.
const ViewVersion = 1

// View is one host's (or one namespace's) network configuration.
type View struct {
	Version int     `json:"version"`
	Host    string  `json:"host,omitempty"` // set by the caller; a namespace has no name of its own
	Links   []Link  `json:"links"`
	Routes  []Route `json:"routes"`
}

// LinkType classifies a link the way the checks and operators care about.
type LinkType string

// The link types. Physical means netlink reported no driver kind: a real
// NIC (or anything else the kernel does not label).
const (
	Physical LinkType = "physical"
	Loopback LinkType = "loopback"
	VLAN     LinkType = "vlan"
	Bond     LinkType = "bond"
	Bridge   LinkType = "bridge"
	Veth     LinkType = "veth"
	Macvlan  LinkType = "macvlan"
	Other    LinkType = "other"
)

// Link is one network interface.
type Link struct {
	Name        string   `json:"name"`
	Index       int      `json:"index"`
	Type        LinkType `json:"type"`
	Kind        string   `json:"kind"`       // netlink's own type name ("device", "vlan", "dummy", ...)
	OperState   string   `json:"oper_state"` // RFC 2863 state as ip(8) shows it, lower case
	AdminUp     bool     `json:"admin_up"`
	Carrier     bool     `json:"carrier"`
	NoARP       bool     `json:"no_arp,omitempty"`
	MTU         int      `json:"mtu"`
	MAC         string   `json:"mac,omitempty"`
	VLANID      int      `json:"vlan_id,omitempty"`
	ParentIndex int      `json:"parent_index,omitempty"` // lower device of a VLAN or macvlan
	Parent      string   `json:"parent,omitempty"`       // its name, when it lives in the same namespace
	MasterIndex int      `json:"master_index,omitempty"` // bond or bridge this link is enslaved to
	Master      string   `json:"master,omitempty"`
	Slaves      []string `json:"slaves,omitempty"` // members of a bond or bridge
	BondMode    string   `json:"bond_mode,omitempty"`
	Addrs       []Addr   `json:"addresses,omitempty"`

	// parentElsewhere: IFLA_LINK_NETNSID says the parent lives in another
	// namespace, so ParentIndex names no link of this view.
	parentElsewhere bool
}

// Addr is one address on a link.
type Addr struct {
	Address netip.Prefix `json:"address"` // address with its prefix length, "10.1.3.5/24"
	Family  string       `json:"family"`  // inet or inet6
	Scope   string       `json:"scope"`   // global, site, link or host
}

// Route is one route of any table except the kernel's local table.
type Route struct {
	Dst      string `json:"dst"` // "default" or a prefix
	Gateway  string `json:"gateway,omitempty"`
	Link     string `json:"link,omitempty"`
	Src      string `json:"src,omitempty"`
	Family   string `json:"family"`
	Table    int    `json:"table"`
	Protocol string `json:"protocol"`
	Scope    string `json:"scope"`
	Metric   int    `json:"metric,omitempty"`
}

// Link returns the link called name, or nil.
func (v *View) Link(name string) *Link {
	for i := range v.Links {
		if v.Links[i].Name == name {
			return &v.Links[i]
		}
	}
	return nil
}

// LinkByIndex returns the link with ifindex idx, or nil.
func (v *View) LinkByIndex(idx int) *Link {
	for i := range v.Links {
		if v.Links[i].Index == idx {
			return &v.Links[i]
		}
	}
	return nil
}

// HasAddress returns the link that carries ip, or nil.
func (v *View) HasAddress(ip netip.Addr) *Link {
	for i := range v.Links {
		for _, a := range v.Links[i].Addrs {
			if a.Address.Addr() == ip {
				return &v.Links[i]
			}
		}
	}
	return nil
}

// ReadView reads the view of the caller's network namespace.
func ReadView() (*View, error) {
	return ReadViewAt(nil)
}

// ReadViewAt reads the view of namespace ns (nil: the caller's own).
func ReadViewAt(ns *netns.NsHandle) (*View, error) {
	h, err := handle(ns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return readView(h)
}

func readView(h *netlink.Handle) (*View, error) {
	links, err := dump(h.LinkList)
	if err != nil {
		return nil, netlinkError("listing links", err)
	}
	addrs, err := dump(func() ([]netlink.Addr, error) { return h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, netlinkError("listing addresses", err)
	}
	routes, err := dump(func() ([]netlink.Route, error) { return listRoutes(h) })
	if err != nil {
		return nil, netlinkError("listing routes", err)
	}
	return buildView(links, addrs, routes), nil
}

// listRoutes lists every table. RouteListFiltered drops the data when a
// dump is interrupted, so collect through the iterator, which keeps it.
func listRoutes(h *netlink.Handle) ([]netlink.Route, error) {
	var out []netlink.Route
	err := h.RouteListFilteredIter(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE,
		func(r netlink.Route) bool {
			if r.Table != unix.RT_TABLE_LOCAL {
				out = append(out, r)
			}
			return true
		})
	return out, err
}

// dumpAttempts bounds the retries of an interrupted netlink dump. The
// kernel interrupts a dump when the table changes under it; on a host
// whose links flap constantly, a slightly stale answer beats none.
const dumpAttempts = 4

// dump runs list until it completes without netlink.ErrDumpInterrupted,
// at most dumpAttempts times, then settles for the last data returned.
func dump[T any](list func() ([]T, error)) ([]T, error) {
	var out []T
	var err error
	for range dumpAttempts {
		out, err = list()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return out, nil
}

func buildView(links []netlink.Link, addrs []netlink.Addr, routes []netlink.Route) *View {
	v := &View{Version: ViewVersion, Links: make([]Link, 0, len(links)), Routes: []Route{}}
	for _, l := range links {
		v.Links = append(v.Links, linkFrom(l))
	}
	sort.Slice(v.Links, func(i, j int) bool { return v.Links[i].Index < v.Links[j].Index })
	for i := range v.Links {
		l := &v.Links[i]
		if p := v.LinkByIndex(l.ParentIndex); p != nil && !l.parentElsewhere {
			l.Parent = p.Name
		}
		if m := v.LinkByIndex(l.MasterIndex); m != nil {
			l.Master = m.Name
			m.Slaves = append(m.Slaves, l.Name)
		}
	}
	for _, a := range addrs {
		if l := v.LinkByIndex(a.LinkIndex); l != nil && a.IPNet != nil {
			l.Addrs = append(l.Addrs, addrFrom(a.IPNet, a.Scope))
		}
	}
	for _, r := range routes {
		v.Routes = append(v.Routes, routeFrom(r, v))
	}
	return v
}

// linkFrom converts one netlink link. Parent, master and slave names
// need the whole list and are filled in by buildView.
func linkFrom(l netlink.Link) Link {
	a := l.Attrs()
	out := Link{
		Name:        a.Name,
		Index:       a.Index,
		Kind:        l.Type(),
		OperState:   a.OperState.String(),
		AdminUp:     a.Flags&net.FlagUp != 0,
		Carrier:     a.RawFlags&unix.IFF_LOWER_UP != 0,
		NoARP:       a.RawFlags&unix.IFF_NOARP != 0,
		MTU:         a.MTU,
		MasterIndex: a.MasterIndex,

		parentElsewhere: a.NetNsID >= 0,
	}
	if len(a.HardwareAddr) > 0 {
		out.MAC = a.HardwareAddr.String()
	}
	switch l := l.(type) {
	case *netlink.Vlan:
		out.Type, out.VLANID, out.ParentIndex = VLAN, l.VlanId, a.ParentIndex
	case *netlink.Macvlan:
		out.Type, out.ParentIndex = Macvlan, a.ParentIndex
	case *netlink.Bond:
		out.Type, out.BondMode = Bond, l.Mode.String()
	case *netlink.Bridge:
		out.Type = Bridge
	case *netlink.Veth:
		out.Type = Veth
	case *netlink.Device:
		out.Type = Physical
		if a.Flags&net.FlagLoopback != 0 {
			out.Type = Loopback
		}
	default:
		out.Type = Other
	}
	return out
}

func addrFrom(n *net.IPNet, scope int) Addr {
	ip, _ := netip.AddrFromSlice(n.IP)
	ip = ip.Unmap()
	ones, _ := n.Mask.Size()
	return Addr{Address: netip.PrefixFrom(ip, ones), Family: family(ip), Scope: scopeName(scope)}
}

func routeFrom(r netlink.Route, v *View) Route {
	out := Route{
		Dst:      "default",
		Family:   "inet",
		Table:    r.Table,
		Protocol: r.Protocol.String(),
		Scope:    scopeName(int(r.Scope)),
		Metric:   r.Priority,
	}
	if r.Family == unix.AF_INET6 {
		out.Family = "inet6"
	}
	// A default route comes as nil or as 0.0.0.0/0 (::/0), depending on
	// the kernel and netlink version.
	if r.Dst != nil {
		if ones, _ := r.Dst.Mask.Size(); ones > 0 {
			out.Dst = r.Dst.String()
		}
	}
	if r.Gw != nil {
		out.Gateway = r.Gw.String()
	}
	if r.Src != nil {
		out.Src = r.Src.String()
	}
	if l := v.LinkByIndex(r.LinkIndex); l != nil {
		out.Link = l.Name
	}
	return out
}

func family(ip netip.Addr) string {
	if ip.Is4() {
		return "inet"
	}
	return "inet6"
}

// scopeName spells a route or address scope as ip(8) does.
func scopeName(s int) string {
	switch s {
	case unix.RT_SCOPE_UNIVERSE:
		return "global"
	case unix.RT_SCOPE_SITE:
		return "site"
	case unix.RT_SCOPE_LINK:
		return "link"
	case unix.RT_SCOPE_HOST:
		return "host"
	case unix.RT_SCOPE_NOWHERE:
		return "nowhere"
	default:
		return fmt.Sprint(s)
	}
}

// DecodeView reads a view written by `storagegrid net show --output
// json`. Anything else (another program's JSON, a different format
// version, a truncated file) is an error, not an empty view that would
// make every interface look missing.
func DecodeView(r io.Reader) (*View, error) {
	var v View
	dec := json.NewDecoder(r)
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not a network view: %w", err)
	}
	if v.Version != ViewVersion {
		return nil, fmt.Errorf("not a network view of format version %d (found version %d)", ViewVersion, v.Version)
	}
	if len(v.Links) == 0 {
		return nil, errors.New("network view lists no links (even a namespace has lo)")
	}
	for i, l := range v.Links {
		if err := ValidName(l.Name); err != nil {
			return nil, fmt.Errorf("network view, link %d: %w", i, err)
		}
	}
	return &v, nil
}
