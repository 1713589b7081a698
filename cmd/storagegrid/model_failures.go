//go:build !agentonly

package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/model"
)

// model failures: the worst single (and paired) component failures.

type modelFailuresOptions struct {
	depth int
	site  string
	kinds string
}

func modelFailuresCommand(g *globals) *cli.Command {
	o := &modelFailuresOptions{}
	return &cli.Command{
		Name:      "failures",
		Usage:     "list the component failures that would break a rule of the grid, worst first",
		UsageText: "storagegrid model failures [--depth 1|2] [--site SITE] [--kind host,switch,rack,device]",
		Description: "Fails each host, switch (as the hosts hear it by LLDP) and rack (from the hosts'\n" +
			"settings) in turn on the live model, and with --depth 2 every pair of them, and\n" +
			"reports those that would break a rule: a site keeps less than a majority of its\n" +
			"storage nodes (site-storage-quorum), the primary admin node is lost\n" +
			"(primary-admin), a node type running at a site has no instance left there\n" +
			"(type-at-site), a running node loses a block device (node-block-device) or its\n" +
			"grid network interface (node-grid-network). A failed switch takes down the links\n" +
			"that hear only it; a bond survives while a member does. A pair is listed when it\n" +
			"breaks a rule neither breaks alone. Rules already broken with nothing failed are\n" +
			"listed first as the baseline. --kind device adds every LUN a node uses. Example:\n" +
			"   storagegrid model failures --depth 2 --site DC1",
		Flags: append(clientFlags(),
			&cli.IntFlag{Name: "depth", Value: 1, Destination: &o.depth, Usage: "1: single failures; 2: also every pair"},
			&cli.StringFlag{Name: "site", Destination: &o.site, Usage: "only failures that break a rule at `SITE`"},
			&cli.StringFlag{Name: "kind", Destination: &o.kinds, Usage: "component `KINDS` to fail, comma-separated: host, switch, rack, device (default host,switch,rack)"},
		),
		Action: func(c *cli.Context) error {
			if _, err := g.exactArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			q := model.FailureQuery{Depth: o.depth, Site: o.site}
			if o.depth != 1 && o.depth != 2 {
				return fail.Usagef("--depth %d: want 1 or 2", o.depth)
			}
			if o.kinds != "" {
				for _, k := range strings.Split(o.kinds, ",") {
					if k = strings.TrimSpace(k); !slices.Contains(model.FailureKinds, k) {
						return fail.Usagef("--kind %q: want %s", k, strings.Join(model.FailureKinds, ", "))
					}
					q.Kinds = append(q.Kinds, strings.TrimSpace(k))
				}
			}
			return modelQuery(g, c, func(cl *model.Client) (model.FailureReport, error) { return cl.Failures(c.Context, q) }, g.printFailures)
		},
	}
}

func (g *globals) printFailures(r model.FailureReport) error {
	scope := ""
	if r.Site != "" {
		scope = ", site " + r.Site
	}
	g.printf("Failures (depth %d, %s%s): %d components, %d pairs evaluated; %d break a rule\n",
		r.Depth, strings.Join(r.Kinds, ","), scope, r.Components, r.Pairs, len(r.Failures))
	if len(r.Baseline) > 0 {
		g.printf("Already broken:\n")
		for _, b := range r.Baseline {
			g.printf("     %s: %s\n", b.Rule, b.Message)
		}
	}
	for i, f := range r.Failures {
		g.printf("%d. %s: %d node(s) lost: %s\n", i+1, strings.Join(f.Labels, " + "), len(f.NodesLost), listOrDash(f.NodesLost))
		for _, b := range f.Broken {
			g.printf("     %s: %s\n", b.Rule, b.Message)
		}
	}
	return nil
}
