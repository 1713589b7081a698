package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/netcheck"
)

func netCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "net",
		Usage: "show and check this host's network interfaces for grid nodes",
		Description: "Reads links, addresses and routes through netlink and checks them against\n" +
			"the interfaces the nodes configured here need:\n" +
			"   storagegrid net show\n" +
			"   storagegrid --output json net show > host-a.json   (on the old host)\n" +
			"   storagegrid net compare --file host-a.json DC1-S3  (on the new host)\n" +
			"   sudo storagegrid net check all",
		Subcommands: []*cli.Command{netShowCommand(g)},
	}
}

type netShowOptions struct{}

func netShowCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "list this host's links, addresses and routes",
		UsageText: "storagegrid net show",
		Description: "Prints every network interface with its type (physical, vlan, bond, bridge,\n" +
			"veth, macvlan), state, carrier, MTU, MAC, VLAN id and parent, bond or bridge\n" +
			"membership and addresses, then the routes. With --output json the view is\n" +
			"the file that 'net compare --file' reads on another host:\n" +
			"   storagegrid --output json net show > $(hostname).json",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fail.Usagef("net show takes no arguments (see 'storagegrid net show --help')")
			}
			return runNetShow(g, netShowOptions{})
		},
	}
}

func runNetShow(g *globals, _ netShowOptions) error {
	v, err := hostView()
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(v)
	}
	if g.quiet {
		return nil
	}
	printView(g, v)
	return nil
}

// hostView reads this host's network view, named after the host.
func hostView() (*netcheck.View, error) {
	v, err := netcheck.ReadView()
	if err != nil {
		return nil, fmt.Errorf("reading the network configuration: %w", err)
	}
	v.Host, _ = os.Hostname()
	return v, nil
}

func printView(g *globals, v *netcheck.View) {
	tw := tabwriter.NewWriter(g.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "Name\tType\tState\tCarrier\tMTU\tMAC\tDetails")
	for _, l := range v.Links {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", l.Name, l.Type, linkState(l), yesNo(l.Carrier), l.MTU, dash(l.MAC), dash(linkDetails(l)))
	}
	tw.Flush()
	if len(v.Routes) == 0 {
		return
	}
	fmt.Fprintln(g.stdout, "\nRoutes")
	for _, r := range v.Routes {
		fmt.Fprintln(g.stdout, routeLine(r))
	}
}

// linkState combines the administrative flag and the operational state
// the way operators read them: "down" when switched off, else the RFC
// 2863 state.
func linkState(l netcheck.Link) string {
	if !l.AdminUp {
		return "down"
	}
	return l.OperState
}

func linkDetails(l netcheck.Link) string {
	var d []string
	switch {
	case l.Type == netcheck.VLAN:
		d = append(d, fmt.Sprintf("vlan %d on %s", l.VLANID, orIndex(l.Parent, l.ParentIndex)))
	case l.Type == netcheck.Macvlan:
		d = append(d, "on "+orIndex(l.Parent, l.ParentIndex))
	case l.Type == netcheck.Bond:
		d = append(d, fmt.Sprintf("mode %s, slaves %s", l.BondMode, dash(strings.Join(l.Slaves, ","))))
	case l.Type == netcheck.Bridge:
		d = append(d, "ports "+dash(strings.Join(l.Slaves, ",")))
	case l.Type == netcheck.Other:
		d = append(d, l.Kind)
	}
	if l.Master != "" {
		d = append(d, "member of "+l.Master)
	}
	for _, a := range l.Addrs {
		if a.Scope != "link" {
			d = append(d, a.Address.String())
		}
	}
	return strings.Join(d, "; ")
}

func routeLine(r netcheck.Route) string {
	s := r.Dst
	if r.Gateway != "" {
		s += " via " + r.Gateway
	}
	if r.Link != "" {
		s += " dev " + r.Link
	}
	if r.Src != "" {
		s += " src " + r.Src
	}
	if r.Table != 254 {
		s += fmt.Sprintf(" table %d", r.Table)
	}
	if r.Metric != 0 {
		s += fmt.Sprintf(" metric %d", r.Metric)
	}
	return s
}

func orIndex(name string, idx int) string {
	if name != "" {
		return name
	}
	return fmt.Sprintf("if%d", idx)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
