//go:build !agentonly

package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/netcheck"
	"github.com/storagegrid/storagegrid/node"
)

func init() {
	register(20, netCommand)
}

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
		Subcommands: []*cli.Command{netShowCommand(g), netCheckCommand(g), netCompareCommand(g)},
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

type netCheckOptions struct {
	names []string
	noARP bool
}

func netCheckCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check the interfaces and addresses the nodes configured here need",
		ArgsUsage: "[all | NAME...]",
		Description: "For every *_NETWORK_TARGET and INTERFACE_TARGET_nnnn of each node: the\n" +
			"interface exists, is up with carrier, is not itself a bond or bridge (use a\n" +
			"VLAN on top of the bond), its MTU is not below the node's, and a VLAN's\n" +
			"parent is up. Then, for each static IP of a node that is not running, an ARP\n" +
			"probe from its target interface finds whether another machine already\n" +
			"answers for that address (needs root; --no-arp skips it):\n" +
			"   $ sudo storagegrid net check DC1-S3\n" +
			"   Checking network interfaces of node DC1-S3... PASSED\n" +
			"   Checking for duplicate IP addresses of node DC1-S3... PASSED\n" +
			"A check that finds anything lists it instead of PASSED (ERROR or WARNING\n" +
			"lines, as node validate prints them). Exit code 3 when any check finds an\n" +
			"error; warnings alone exit 0.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-arp", Usage: "skip the duplicate-address probes (which need root)"},
		},
		Action: func(c *cli.Context) error {
			return runNetCheck(c, g, netCheckOptions{names: c.Args().Slice(), noARP: c.Bool("no-arp")})
		},
	}
}

func runNetCheck(c *cli.Context, g *globals, opts netCheckOptions) error {
	mgr, _, err := g.nodeManager()
	if err != nil {
		return err
	}
	names, err := g.resolveNodes(mgr.Registry(), opts.names)
	if err != nil {
		return err
	}
	var probe *netcheck.ProbeOptions
	if !opts.noARP {
		if os.Geteuid() != 0 {
			return fmt.Errorf("the duplicate-address probes need root: %w; or skip them with --no-arp", netcheck.ErrNeedRoot)
		}
		probe = &netcheck.ProbeOptions{}
	}
	v, err := hostView()
	if err != nil {
		return err
	}
	reports := []netcheck.Report{}
	err = g.eachNode(names, func(name string) error {
		cfg, err := loadConfig(mgr.Registry(), name)
		if err != nil {
			return err
		}
		st, err := mgr.Status(c.Context, name)
		if err != nil {
			return err
		}
		rep, err := netcheck.CheckNode(c.Context, v, name, cfg, st.RunState != node.NotRunning, probe)
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		reports = append(reports, rep)
		if !g.jsonOutput() {
			printCheckReport(g, rep)
		}
		return nil
	})
	if g.jsonOutput() {
		err = joinErr(err, g.printJSON(reports))
	}
	return withFailedReports(err, reports)
}

func printCheckReport(g *globals, rep netcheck.Report) {
	g.printCheck("Checking network interfaces of node "+rep.Node, rep.Interfaces)
	switch {
	case rep.Probed:
		g.printCheck("Checking for duplicate IP addresses of node "+rep.Node, rep.Addresses)
	case rep.Running:
		g.printf("Checking for duplicate IP addresses of node %s... skipped: the node is running\n", rep.Node)
	}
}

type netCompareOptions struct {
	file  string
	names []string
}

func netCompareCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "tell whether nodes configured here would find their interfaces on another host",
		ArgsUsage: "--file OTHER_HOST_VIEW.json [all | NAME...]",
		Description: "Reads the other host's view, written there by\n" +
			"   storagegrid --output json net show > host-b.json\n" +
			"and reports, for each node, the interfaces it needs that are missing on that\n" +
			"host or would not work there (down, a bond or bridge, MTU below the node's),\n" +
			"and those whose MTU, type or VLAN id differ from this host's:\n" +
			"   $ storagegrid net compare --file host-b.json DC1-S3\n" +
			"   Comparing network interfaces of node DC1-S3 with host-b... PASSED\n" +
			"A different MTU or link type is a warning: the line has no PASSED, the exit\n" +
			"code stays 0. Exit code 3 when a node would miss an interface.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "file", Aliases: []string{"f"},
				Usage: "read the other host's view from `FILE` (written there by 'storagegrid --output json net show')"},
		},
		Action: func(c *cli.Context) error {
			// Checked here, not with Required, so that it is a usage
			// error (exit 2) like every other.
			if c.String("file") == "" {
				return fail.Usagef("net compare needs --file OTHER_HOST_VIEW.json (see 'storagegrid net compare --help')")
			}
			return runNetCompare(g, netCompareOptions{file: c.String("file"), names: c.Args().Slice()})
		},
	}
}

func runNetCompare(g *globals, opts netCompareOptions) error {
	other, err := readView(opts.file)
	if err != nil {
		return err
	}
	reg := node.NewRegistry(g.root)
	names, err := g.resolveNodes(reg, opts.names)
	if err != nil {
		return err
	}
	local, err := hostView()
	if err != nil {
		return err
	}
	where := other.Host
	if where == "" {
		where = opts.file
	}
	reports := []netcheck.Report{}
	err = g.eachNode(names, func(name string) error {
		cfg, err := loadConfig(reg, name)
		if err != nil {
			return err
		}
		rep := netcheck.CompareNode(name, cfg, local, other)
		reports = append(reports, rep)
		if !g.jsonOutput() {
			g.printCheck(fmt.Sprintf("Comparing network interfaces of node %s with %s", name, where), rep.Interfaces)
		}
		return nil
	})
	if g.jsonOutput() {
		err = joinErr(err, g.printJSON(reports))
	}
	return withFailedReports(err, reports)
}

// loadConfig loads a node's config; a bad or unknown name is a usage
// error, as in the node commands.
func loadConfig(reg *node.Registry, name string) (*node.Config, error) {
	cfg, err := reg.Load(name)
	if errors.Is(err, node.ErrInvalidName) || errors.Is(err, node.ErrUnknownNode) {
		return nil, fail.With(fail.Usage, err)
	}
	return cfg, err
}

// readView reads another host's view from the file given with --file.
func readView(file string) (*netcheck.View, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fail.With(fail.Usage, fmt.Errorf("--file: %w", err))
	}
	defer f.Close()
	v, err := netcheck.DecodeView(f)
	if err != nil {
		return nil, fail.Usagef("%s: %v (write it with 'storagegrid --output json net show')", file, err)
	}
	return v, nil
}

// withFailedReports adds the nodes whose checks found errors to err, the
// error of the nodes that could not be checked at all: the exit code stays
// err's (a partial failure), but the summary must not hide the problems.
func withFailedReports(err error, reports []netcheck.Report) error {
	ferr := failedReports(reports)
	if err == nil || ferr == nil {
		return joinErr(err, ferr)
	}
	return fail.With(fail.KindOf(err), fmt.Errorf("%v; %v", err, ferr))
}

// failedReports is the validation error (exit 3) when any node failed.
func failedReports(reports []netcheck.Report) error {
	var failed []string
	for _, r := range reports {
		if r.HasErrors() {
			failed = append(failed, r.Node)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fail.Invalidf("network problems found for node %s", strings.Join(failed, ", "))
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

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
