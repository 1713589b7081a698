//go:build !agentonly

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/fleet"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/model"
	"github.com/storagegrid/storagegrid/node"
)

// fleet patch: a plan carried out, host by host, with a journal.

type fleetPatchOptions struct {
	plan, run, targetCmd, runCmd, journal string
	dryRun                                bool
	pause, stepTimeout, resumeWait        time.Duration
}

const (
	defaultFleetTarget = "ssh -o BatchMode=yes {host} sudo storagegrid"
	defaultFleetRun    = "ssh -o BatchMode=yes {host}"
)

func fleetPatchCommand(g *globals) *cli.Command {
	o := &fleetPatchOptions{}
	return &cli.Command{
		Name:      "patch",
		Usage:     "carry out a patch plan: move, stop, patch, wait for the reboot, start, move back, host by host",
		UsageText: "storagegrid fleet patch --plan FILE --run 'COMMAND' [--target-cmd CMD] [--run-cmd CMD] [--dry-run]",
		Description: "Carries out a plan of `fleet plan-patch`, wave after wave: a wave's hosts go down\n" +
			"one after another (each checked on the live model with the wave's earlier hosts\n" +
			"down, as planned), are patched and brought back together, and get their nodes\n" +
			"back one after another. For each host:\n" +
			"  check-moves   check-migrate of each planned move, on the live model\n" +
			"  move NODE     on the host: storagegrid node migrate NODE --to TARGET\n" +
			"  ok-to-stop    on the live model: the run stops if the fleet changed\n" +
			"  stop          on the host: storagegrid node stop NODES\n" +
			"  patch         COMMAND, run on the host by --run-cmd\n" +
			"  wait-boot     until the host's agent reports a new boot id (or kernel)\n" +
			"  start         on the host: storagegrid node start NODES\n" +
			"  wait-running  until the model has them Running\n" +
			"  move-back     on the target: storagegrid node migrate NODE --to HOST\n" +
			"Each step is recorded in the journal (--journal, default FILE.journal) before the\n" +
			"run goes on: killed at any moment, the same command resumes at the step it was in,\n" +
			"and no migration or patch that finished is done again. A failed step stops the\n" +
			"run, says where the fleet was left, and the same command resumes it. {host} in\n" +
			"--target-cmd (default: " + defaultFleetTarget + "), --run-cmd\n" +
			"(default: " + defaultFleetRun + ", followed by COMMAND) and COMMAND is the host.\n" +
			"With -o ndjson (or json), one JSON object per step event. Example:\n" +
			"   storagegrid fleet patch --plan plan.json --run 'sudo apt-get -y upgrade && sudo reboot'",
		Flags: append(clientFlags(),
			&cli.StringFlag{Name: "plan", Destination: &o.plan, Usage: "the plan `FILE` that fleet plan-patch wrote (required)"},
			&cli.StringFlag{Name: "run", Destination: &o.run, Usage: "the patch `COMMAND`, run on each host (required)"},
			&cli.StringFlag{Name: "target-cmd", Value: defaultFleetTarget, Destination: &o.targetCmd, Usage: "`CMD` that runs storagegrid on {host}"},
			&cli.StringFlag{Name: "run-cmd", Value: defaultFleetRun, Destination: &o.runCmd, Usage: "`CMD` that runs the patch command on {host}"},
			&cli.StringFlag{Name: "journal", Destination: &o.journal, Usage: "the run's journal `FILE` (default: the plan file + .journal)"},
			&cli.BoolFlag{Name: "dry-run", Destination: &o.dryRun, Usage: "list the steps, run nothing"},
			&cli.DurationFlag{Name: "pause-between", Destination: &o.pause, Usage: "wait `D` between hosts"},
			&cli.DurationFlag{Name: "step-timeout", Value: 30 * time.Minute, Destination: &o.stepTimeout, Usage: "give up a step after `D`"},
			&cli.DurationFlag{Name: "resume-wait", Value: 10 * time.Minute, Destination: &o.resumeWait, Usage: "when resuming a patch an earlier run started, wait `D` for the host to come back with a new boot id before running it again"},
		),
		Action: func(c *cli.Context) error {
			if _, err := g.exactArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			if o.plan == "" || o.run == "" {
				return fail.Usagef("fleet patch needs --plan FILE and --run 'COMMAND' (see '%s --help')", c.Command.HelpName)
			}
			if o.stepTimeout <= 0 {
				return fail.Usagef("--step-timeout %s: must be positive", o.stepTimeout)
			}
			target, err := hostTemplate("--target-cmd", o.targetCmd)
			if err != nil {
				return err
			}
			runner, err := hostTemplate("--run-cmd", o.runCmd)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(o.plan)
			if err != nil {
				return fail.With(fail.Usage, err)
			}
			var plan model.PatchPlan
			if err := json.Unmarshal(data, &plan); err != nil {
				return fail.Invalidf("%s: not a patch plan: %v", o.plan, err)
			}
			fo := fleet.Options{
				Target:      func(h string) (node.Target, error) { return node.NewTarget(h, target(h)) },
				Patch:       func(h string) []string { return append(runner(h), strings.ReplaceAll(o.run, "{host}", h)) },
				StepTimeout: o.stepTimeout, ResumeWait: o.resumeWait, Pause: o.pause, DryRun: o.dryRun,
			}
			var j *fleet.Journal
			if !o.dryRun {
				path := o.journal
				if path == "" {
					path = o.plan + ".journal"
				}
				if j, err = fleet.OpenJournal(path, fleet.PlanHash(data)); err != nil {
					return fail.With(fail.Usage, err)
				}
				defer j.Close()
			}
			cl, err := g.modelClient(c)
			if err != nil {
				return err
			}
			err = fleet.Run(c.Context, plan, cl, j, fo, g.fleetEvent)
			if se, ok := err.(*fleet.StepError); ok {
				return fmt.Errorf("%w\nto resume: %s\nto give up instead: on %s, storagegrid node start the nodes stopped, and move the moved ones back with storagegrid node migrate",
					se, node.JoinCommand(os.Args), se.Host)
			}
			return err
		},
	}
}

// hostTemplate splits a command template once; {host} is replaced in
// each word.
func hostTemplate(flag, s string) (func(host string) []string, error) {
	words, err := node.SplitCommand(s)
	if err != nil || len(words) == 0 {
		return nil, fail.Usagef("%s %q: %v", flag, s, errOr(err, "empty command"))
	}
	return func(host string) []string {
		out := make([]string, len(words))
		for i, w := range words {
			out[i] = strings.ReplaceAll(w, "{host}", host)
		}
		return out
	}, nil
}

// fleetEvent prints a step event: a line per event on a terminal or in a
// log, one JSON object per line for scripts.
func (g *globals) fleetEvent(e fleet.Event) {
	if g.jsonOutput() {
		b, _ := json.Marshal(e)
		g.printf("%s\n", b)
		return
	}
	line := fmt.Sprintf("[%s] %s: %s", e.Host, e.Step, e.State)
	if e.Detail != "" {
		line += " (" + e.Detail + ")"
	}
	g.printf("%s\n", line)
}
