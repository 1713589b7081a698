//go:build !agentonly

package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/model"
)

// The inventory queries: model hosts, model nodes and model impact.

func modelHostsCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:        "hosts",
		Usage:       "list the hosts the model knows",
		UsageText:   "storagegrid model hosts [--server URL]",
		Description: "Lists every host with its last report, its nodes, devices and links.\nA host silent for longer than model.stale_after is marked stale.\nExample:\n   storagegrid model hosts --server http://model.example:9470",
		Flags:       clientFlags(),
		Action: func(c *cli.Context) error {
			return modelQuery(g, c, func(cl *model.Client) ([]model.HostSummary, error) { return cl.Hosts(c.Context) }, g.printHosts)
		},
	}
}

func (g *globals) printHosts(hosts []model.HostSummary) error {
	return g.table("Host\tLast-Seen\tNodes\tDevices\tLinks\tAddresses", len(hosts), func(i int) string {
		h := hosts[i]
		seen := h.LastSeen.UTC().Format(time.RFC3339)
		if h.Stale {
			seen += " (stale)"
		}
		return fmt.Sprintf("%s\t%s\t%s\t%d\t%d\t%d", h.Host, seen, listOrDash(h.Nodes), h.Devices, h.Links, h.Addresses)
	})
}

type modelNodesOptions struct{ host string }

func modelNodesCommand(g *globals) *cli.Command {
	o := &modelNodesOptions{}
	return &cli.Command{
		Name:        "nodes",
		Usage:       "list the grid nodes: where they run, their type, site and run state",
		UsageText:   "storagegrid model nodes [--host HOST] [--server URL]",
		Description: "Example:\n   storagegrid model nodes --host dc1-h3",
		Flags:       append(clientFlags(), hostFlag(&o.host, "only the nodes on `HOST`")),
		Action: func(c *cli.Context) error {
			return modelQuery(g, c, func(cl *model.Client) ([]model.Node, error) { return cl.Nodes(c.Context, o.host) }, g.printNodes)
		},
	}
}

func (g *globals) printNodes(nodes []model.Node) error {
	return g.table("Name\tHost\tType\tSite\tRun-State", len(nodes), func(i int) string {
		n := nodes[i]
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", n.Name, n.Host, n.Type, n.Site, n.RunState)
	})
}

func modelSwitchesCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:        "switches",
		Usage:       "list the switches the hosts hear by LLDP, and which host link is on each port",
		UsageText:   "storagegrid model switches [--server URL]",
		Description: "A switch is a chassis that hosts' agents hear by LLDP on their links, named by its\nsystem name. Example:\n   storagegrid model switches",
		Flags:       clientFlags(),
		Action: func(c *cli.Context) error {
			return modelQuery(g, c, func(cl *model.Client) ([]model.Switch, error) { return cl.Switches(c.Context) }, g.printSwitches)
		},
	}
}

func (g *globals) printSwitches(sws []model.Switch) error {
	type row struct{ sw, chassis, port, host, link string }
	var rows []row
	for _, sw := range sws {
		for _, p := range sw.Ports {
			rows = append(rows, row{sw.Label(), sw.ID, p.Port, p.Host, p.Link})
		}
	}
	return g.table("Switch\tChassis\tPort\tHost\tLink", len(rows), func(i int) string {
		r := rows[i]
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", r.sw, r.chassis, r.port, r.host, r.link)
	})
}

func modelImpactCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "impact",
		Usage:     "list everything that depends on a host, device, LUN or interface",
		UsageText: "storagegrid model impact ENTITY",
		Description: "ENTITY is host/HOST, link/HOST/IFACE, blockdev/HOST/DEV (DEV may be a path such as\n" +
			"/dev/mapper/x), wwid/WWID, node/NAME, switch/SWITCH (its LLDP chassis id or system\n" +
			"name), rack/RACK (from the hosts' settings), or a bare host or node name. For a\n" +
			"switch, what its failure takes down: a bond with a member on another switch\n" +
			"survives and is listed as degraded. Examples:\n" +
			"   storagegrid model impact link/dc1-h3/bond0\n" +
			"   storagegrid model impact switch/sw-dc1-a",
		Flags: clientFlags(),
		Action: func(c *cli.Context) error {
			args, err := g.exactArgs(c, 1, "one ENTITY")
			if err != nil {
				return err
			}
			return modelQuery(g, c, func(cl *model.Client) (model.Impact, error) { return cl.Impact(c.Context, args[0]) }, g.printImpact)
		},
	}
}

func (g *globals) printImpact(im model.Impact) error {
	subject := im.Subject.String()
	if im.Name != "" {
		subject = fmt.Sprintf("%s/%s (chassis %s)", im.Subject.Kind, im.Name, im.Subject.ID)
	}
	hosts := ""
	if im.Subject.Kind == model.KindSwitch || im.Subject.Kind == model.KindRack {
		hosts = ", hosts: " + listOrDash(im.Hosts)
	}
	g.printf("Impact of %s: %d dependents%s, nodes: %s\n", subject, len(im.Affected), hosts, listOrDash(im.Nodes))
	for _, a := range im.Affected {
		g.printf("%s%s (via %s)\n", strings.Repeat("  ", a.Depth), a.Ref, a.Via)
	}
	if len(im.Degraded) > 0 {
		g.printf("Degraded, still running on another path:\n")
		for _, a := range im.Degraded {
			g.printf("  %s (loses %s)\n", a.Ref, a.Via)
		}
	}
	return nil
}
