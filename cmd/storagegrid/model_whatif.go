//go:build !agentonly

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/model"
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
