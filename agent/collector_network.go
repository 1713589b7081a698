package agent

import (
	"context"
	"strconv"
	"strings"

	"github.com/storagegrid/storagegrid/netcheck"
	"github.com/storagegrid/storagegrid/wire"
)

func init() { register("network", true, newNetwork) }

// networkCollector reports links (with VLAN, bond and bridge relations),
// addresses and routes from netcheck's view, and watches netlink so an
// interface change reaches the model as it happens.
type networkCollector struct{ src Sources }

func newNetwork(src Sources) (Collector, error) { return networkCollector{src}, nil }

func (c networkCollector) Collect(context.Context) ([]Item, error) {
	var v *netcheck.View
	var err error
	if c.src.Netns != nil {
		v, err = netcheck.ReadViewAt(c.src.Netns)
	} else {
		v, err = netcheck.ReadView()
	}
	if err != nil {
		return nil, err
	}
	var out []Item
	for _, l := range v.Links {
		out = append(out, linkItem(l))
		for _, a := range l.Addrs {
			out = append(out, Item{Kind: wire.KindAddress, ID: wire.AddressID(l.Name, a.Address.String()),
				Fields: map[string]string{wire.FieldLink: l.Name, wire.FieldAddress: a.Address.String(), "family": a.Family, "scope": a.Scope}})
		}
	}
	for _, r := range v.Routes {
		out = append(out, routeItem(r))
	}
	return out, nil
}

func linkItem(l netcheck.Link) Item {
	f := map[string]string{
		wire.FieldType: string(l.Type), wire.FieldMTU: strconv.Itoa(l.MTU),
		wire.FieldAdminState: map[bool]string{true: "up", false: "down"}[l.AdminUp],
		wire.FieldOperState:  l.OperState, "carrier": strconv.FormatBool(l.Carrier),
	}
	set := func(k, v string) {
		if v != "" {
			f[k] = v
		}
	}
	set("mac", l.MAC)
	set(wire.FieldParent, l.Parent)
	set(wire.FieldMaster, l.Master)
	set("bond_mode", l.BondMode)
	set(wire.FieldSlaves, strings.Join(l.Slaves, " "))
	if l.VLANID != 0 {
		f[wire.FieldVLANID] = strconv.Itoa(l.VLANID)
	}
	return Item{Kind: wire.KindLink, ID: l.Name, Fields: f}
}

func routeItem(r netcheck.Route) Item {
	f := map[string]string{"dst": r.Dst, "table": strconv.Itoa(r.Table), "metric": strconv.Itoa(r.Metric),
		"protocol": r.Protocol, "family": r.Family}
	if r.Gateway != "" {
		f[wire.FieldGateway] = r.Gateway
	}
	if r.Link != "" {
		f[wire.FieldLink] = r.Link
	}
	return Item{Kind: wire.KindRoute, ID: wire.RouteID(r.Table, r.Dst, r.Metric, r.Link, r.Gateway), Fields: f}
}

// Watch reports every link and address change; a lost subscription
// message (buffer overrun) is reported as a change too, so the view is
// re-read rather than left stale.
func (c networkCollector) Watch(ctx context.Context, changed, ready func()) error {
	evs, err := netcheck.Watch(ctx, netcheck.WatchOptions{Namespace: c.src.Netns, OnError: func(error) { changed() }})
	if err != nil {
		return err
	}
	ready()
	for range evs {
		changed()
	}
	return nil
}
