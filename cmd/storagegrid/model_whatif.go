//go:build !agentonly

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/model"
	"github.com/storagegrid/storagegrid/wire"
)

// The what-if checks: model check-migrate and model ok-to-stop. Their
// printer, printVerdict, is in model.go; checkMigrateLine, shared with
// node migrate, in node_migrate.go.

type modelCheckMigrateOptions struct{ to string }

func modelCheckMigrateCommand(g *globals) *cli.Command {
	o := &modelCheckMigrateOptions{}
	return &cli.Command{
		Name:      "check-migrate",
		Usage:     "check whether a node may move to another host",
		UsageText: "storagegrid model check-migrate NODE --to HOST",
		Description: "Forks the model, moves the node and evaluates every rule: the target sees\n" +
			"each of the node's block devices by WWID and path, has every interface the\n" +
			"node needs, keeps one storage node per host, does not end up with every node\n" +
			"of a type of the site, has the memory, and no other node is out of service.\n" +
			"Exits 5 listing every blocker when the move is not safe. Example:\n" +
			"   storagegrid model check-migrate DC1-S3 --to dc1-h4",
		Flags: append(clientFlags(), &cli.StringFlag{Name: "to", Destination: &o.to, Usage: "target `HOST` (required)"}),
		Action: func(c *cli.Context) error {
			args, err := g.exactArgs(c, 1, "one NODE")
			if err != nil {
				return err
			}
			if o.to == "" {
				return fail.Usagef("check-migrate needs --to HOST (see '%s --help')", c.Command.HelpName)
			}
			return g.modelWhatIf(c, func(cl *model.Client) (model.Verdict, error) { return cl.CheckMigrate(c.Context, args[0], o.to) },
				checkMigrateLine)
		},
	}
}

func modelOkToStopCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "ok-to-stop",
		Usage:     "check whether a host may be taken down now",
		UsageText: "storagegrid model ok-to-stop HOST",
		Description: "Forks the model, stops every node on the host and evaluates every rule:\n" +
			"no other node is already out of service, each node type keeps a running\n" +
			"instance elsewhere, each site keeps a majority of its storage nodes.\n" +
			"Exits 5 listing every blocker when it is not safe. Example:\n" +
			"   storagegrid model ok-to-stop dc1-h3 && sudo reboot",
		Flags: clientFlags(),
		Action: func(c *cli.Context) error {
			args, err := g.exactArgs(c, 1, "one HOST")
			if err != nil {
				return err
			}
			return g.modelWhatIf(c, func(cl *model.Client) (model.Verdict, error) { return cl.OkToStop(c.Context, args[0]) },
				func(v model.Verdict) string { return fmt.Sprintf("Checking whether host %s may stop...", v.Host) })
		},
	}
}

// modelWhatIf asks the server a what-if question and prints its verdict
// under the check line the verdict gives.
func (g *globals) modelWhatIf(c *cli.Context, ask func(*model.Client) (model.Verdict, error), line func(model.Verdict) string) error {
	v, err := modelAsk(g, c, ask)
	if err != nil {
		return err
	}
	return g.printVerdict(v, line(v))
}

// scenarioFlag is one of what-if's step flags; all of them append to one
// list, so the steps keep the order they were given in.
type scenarioFlag struct {
	steps *[]model.Step
	make  func(string) (model.Step, error)
}

func (f *scenarioFlag) Set(v string) error {
	s, err := f.make(v)
	if err != nil {
		return err
	}
	*f.steps = append(*f.steps, s)
	return nil
}

func (f *scenarioFlag) String() string { return "" }

func modelWhatIfCommand(g *globals) *cli.Command {
	var steps []model.Step
	step := func(name, usage string, make func(string) (model.Step, error)) cli.Flag {
		return &cli.GenericFlag{Name: name, Usage: usage, Value: &scenarioFlag{steps: &steps, make: make}}
	}
	return &cli.Command{
		Name:      "what-if",
		Usage:     "try a sequence of changes on a copy of the model: failures, stops, moves, new hosts",
		UsageText: "storagegrid model what-if [--fail KIND/ID]... [--stop HOST]... [--move NODE=HOST]... [--add-host FILE]...",
		Description: "Forks the live model in memory (nothing is stored or changed) and applies the\n" +
			"changes in the order given. Each --move is checked as check-migrate, and each --stop\n" +
			"as ok-to-stop, on the model as the changes before it left it; a --fail (host/H,\n" +
			"switch/SW, rack/R, wwid/W, blockdev/H/DEV) takes down what depends on it; --add-host\n" +
			"adds a host from a saved agent snapshot (`storagegrid -o ndjson agent once > FILE`\n" +
			"on the new host, or a saved batch), so a node can be moved onto a host not yet in\n" +
			"service. Then\n" +
			"the single failures that would break a rule afterwards are compared with those of\n" +
			"the live model. Exits 5 when a move or a stop would not be safe. Example:\n" +
			"   storagegrid model what-if --fail switch/sw-dc1-a --stop dc1-h3 --move DC1-S3=dc1-h4",
		Flags: append(clientFlags(),
			step("fail", "fail the component `KIND/ID` (host, switch, rack, wwid, blockdev)", func(v string) (model.Step, error) { return model.Step{Fail: v}, nil }),
			step("stop", "stop every node on `HOST`", func(v string) (model.Step, error) { return model.Step{Stop: v}, nil }),
			step("move", "move a node: `NODE=HOST`", func(v string) (model.Step, error) {
				if n, h, ok := strings.Cut(v, "="); !ok || n == "" || h == "" {
					return model.Step{}, fmt.Errorf("%q: want NODE=HOST", v)
				}
				return model.Step{Move: v}, nil
			}),
			step("add-host", "add the host described by the agent snapshot `FILE`", func(v string) (model.Step, error) {
				evs, err := readSnapshot(v)
				return model.Step{AddHost: evs}, err
			}),
		),
		Action: func(c *cli.Context) error {
			if _, err := g.exactArgs(c, 0, "no arguments (the changes are flags)"); err != nil {
				return err
			}
			if len(steps) == 0 {
				return fail.Usagef("what-if needs at least one --fail, --stop, --move or --add-host (see '%s --help')", c.Command.HelpName)
			}
			r, err := modelAsk(g, c, func(cl *model.Client) (model.ScenarioReport, error) { return cl.Scenario(c.Context, steps) })
			if err != nil {
				return err
			}
			if g.jsonOutput() {
				if err := g.printJSON(r); err != nil {
					return err
				}
			} else {
				g.printScenario(r)
			}
			if !r.Safe {
				return fail.Refusedf("the changes are not safe: a step failed its check")
			}
			return nil
		},
	}
}

// readSnapshot reads the events of a host's snapshot: the NDJSON that
// `agent once` prints, with or without a batch header first.
func readSnapshot(path string) ([]wire.Event, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fail.With(fail.Usage, err)
	}
	var evs []wire.Event
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var h wire.Header
		if i == 0 && json.Unmarshal(line, &h) == nil && h.Wire != 0 {
			continue // a saved batch's header
		}
		var e wire.Event
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fail.Invalidf("%s: line %d: %v", path, i+1, err)
		}
		evs = append(evs, e)
	}
	if len(evs) == 0 {
		return nil, fail.Invalidf("%s: no events", path)
	}
	return evs, nil
}

func (g *globals) printScenario(r model.ScenarioReport) {
	for i, s := range r.Steps {
		line := fmt.Sprintf("%d. %s", i+1, s.Step)
		if len(s.NodesDown) > 0 {
			line += ": takes down " + strings.Join(s.NodesDown, ",")
		}
		if v := s.Verdict; v != nil && v.Safe {
			g.printf("%s... PASSED\n", line)
			continue
		} else if v != nil {
			g.printf("%s... NOT SAFE (%s)\n", line, v.Check)
			for _, b := range v.Blockers {
				g.printf("  ERROR: %s\n         %s\n", b.Rule, b.Message)
			}
			continue
		}
		g.printf("%s\n", line)
	}
	d := r.Failures
	g.printf("Failures afterwards: %d new, %d gone\n", len(d.New), len(d.Gone))
	for _, b := range d.Baseline {
		g.printf("  already broken: %s: %s\n", b.Rule, b.Message)
	}
	for _, list := range []struct {
		what string
		fs   []model.Failure
	}{{"new", d.New}, {"gone", d.Gone}} {
		for _, f := range list.fs {
			g.printf("  %s: %s: %d node(s) lost: %s\n", list.what, strings.Join(f.Labels, " + "), len(f.NodesLost), listOrDash(f.NodesLost))
			for _, b := range f.Broken {
				g.printf("       %s: %s\n", b.Rule, b.Message)
			}
		}
	}
}
