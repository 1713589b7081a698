//go:build !agentonly

package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/atomicfile"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/model"
)

// The fleet commands: maintenance of many hosts, planned on the model
// server's fork of the fleet.

func init() {
	register(75, fleetCommand)
}

func fleetCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "fleet",
		Usage: "maintenance across hosts: plan a rolling OS patch on the model, then carry it out",
		Description: "Plans maintenance of many hosts on the model server's copy of the fleet, so that\n" +
			"every step is checked as the fleet will stand when it is taken, then carries it out\n" +
			"host by host, checking the live model before each host goes down:\n" +
			"   storagegrid fleet plan-patch --all --keep-running VM_Admin_Node --out plan.json\n" +
			"   storagegrid fleet patch --plan plan.json --run 'sudo apt-get -y upgrade && sudo reboot'",
		Subcommands: []*cli.Command{fleetPlanPatchCommand(g), fleetPatchCommand(g)},
	}
}

type fleetPlanOptions struct {
	all         bool
	keepRunning cli.StringSlice
	allow       cli.StringSlice
	maxParallel int
	out         string
}

func fleetPlanPatchCommand(g *globals) *cli.Command {
	o := &fleetPlanOptions{}
	return &cli.Command{
		Name:      "plan-patch",
		Usage:     "plan patching hosts one wave at a time: what moves where, what stops, in which order",
		UsageText: "storagegrid fleet plan-patch [HOST...|--all] [--keep-running NODE-TYPE]... [--max-parallel N] [--allow RULE]... [--out FILE]",
		Description: "Works out, on a copy of the live model (nothing changes), an order in which the\n" +
			"hosts can be taken down for patching, at most --max-parallel at a time (1 by\n" +
			"default), in the order given (--all: every host, by name), a wave taking the first\n" +
			"hosts that can go down together. Before a host goes down, its nodes of the\n" +
			"--keep-running types move to the first host that passes check-migrate then (hosts\n" +
			"already patched first, then hosts outside the plan); the others stop in place.\n" +
			"Each host must pass ok-to-stop as the fleet will then stand (the wave's own\n" +
			"stopped nodes aside), and no failure rule (site-storage-quorum, primary-admin)\n" +
			"may break while its wave is down, unless --allow names it. After its patch a\n" +
			"host's nodes run again and moved nodes come home. The plan is written to --out\n" +
			"(patch-plan.json) for `fleet patch`. Exits 5, naming the host and the rules, when\n" +
			"a host cannot be patched without breaking a rule. Example:\n" +
			"   storagegrid fleet plan-patch --all --keep-running VM_Admin_Node --max-parallel 2",
		Flags: append(clientFlags(),
			&cli.BoolFlag{Name: "all", Destination: &o.all, Usage: "plan every host the model knows"},
			&cli.StringSliceFlag{Name: "keep-running", Destination: &o.keepRunning, Usage: "move nodes of `NODE-TYPE` (e.g. VM_Admin_Node) away instead of stopping them"},
			&cli.IntFlag{Name: "max-parallel", Value: 1, Destination: &o.maxParallel, Usage: "at most `N` hosts down at once"},
			&cli.StringSliceFlag{Name: "allow", Destination: &o.allow, Usage: "accept failure `RULE` (e.g. primary-admin) being broken while a wave is down"},
			&cli.StringFlag{Name: "out", Value: "patch-plan.json", Destination: &o.out, Usage: "write the plan to `FILE`"},
		),
		Action: func(c *cli.Context) error {
			hosts := c.Args().Slice()
			if o.all == (len(hosts) > 0) {
				return fail.Usagef("plan-patch needs HOST... or --all (see '%s --help')", c.Command.HelpName)
			}
			if o.maxParallel < 1 {
				return fail.Usagef("--max-parallel %d: want 1 or more", o.maxParallel)
			}
			q := model.PatchQuery{Hosts: hosts, KeepRunning: o.keepRunning.Value(), MaxParallel: o.maxParallel, Allow: o.allow.Value()}
			p, err := modelAsk(g, c, func(cl *model.Client) (model.PatchPlan, error) { return cl.PlanPatch(c.Context, q) })
			if err != nil {
				return err
			}
			if g.jsonOutput() {
				if err := g.printJSON(p); err != nil {
					return err
				}
			} else {
				g.printPlan(p)
			}
			if !p.Feasible {
				return fail.Refusedf("host %s cannot be patched without breaking a rule: %d blocker(s)", p.Blocked, len(p.Blockers))
			}
			data, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				return err
			}
			if err := atomicfile.Write(o.out, append(data, '\n'), 0o644); err != nil {
				return fmt.Errorf("writing the plan: %w", err)
			}
			if !g.jsonOutput() {
				g.printf("Plan written to %s\n", o.out)
			}
			return nil
		},
	}
}

func (g *globals) printPlan(p model.PatchPlan) {
	hosts := 0
	for _, w := range p.Waves {
		hosts += len(w.Hosts)
	}
	g.printf("Patch plan: %d host(s) in %d wave(s), at most %d down at once\n", hosts, len(p.Waves), p.Query.MaxParallel)
	for i, w := range p.Waves {
		g.printf("Wave %d:\n", i+1)
		for _, h := range w.Hosts {
			var parts []string
			for _, m := range h.Moves {
				parts = append(parts, fmt.Sprintf("move %s to %s", m.Node, m.To))
			}
			if len(h.Stops) > 0 {
				parts = append(parts, "stop "+strings.Join(h.Stops, ", "))
			}
			if len(parts) == 0 {
				parts = append(parts, "no nodes")
			}
			g.printf("  %s: %s\n", h.Host, strings.Join(parts, "; "))
		}
	}
	if !p.Feasible {
		g.printf("Cannot take host %s down without breaking a rule:\n", p.Blocked)
		for _, b := range p.Blockers {
			g.printf("  ERROR: %s\n         %s\n", b.Rule, b.Message)
		}
		if len(p.Unpatchable) > 0 {
			g.printf("Not planned: %s\n", strings.Join(p.Unpatchable, ", "))
		}
	}
}
