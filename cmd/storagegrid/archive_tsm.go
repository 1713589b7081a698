//go:build !agentonly

package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/archive"
	"github.com/storagegrid/storagegrid/internal/fail"
)

type tsmCheckOptions struct {
	days   int
	volume string
	cbids  []archive.CBID
}

type tsmCheckReport struct {
	Volume  string                 `json:"volume,omitempty"`
	Objects []archive.ContentEntry `json:"objects,omitempty"`
	Checks  []archive.Evidence     `json:"checks,omitempty"`
}

func archiveTSMCheckCommand(g *globals) *cli.Command {
	o := &tsmCheckOptions{}
	return &cli.Command{
		Name:      "tsm-check",
		Usage:     "confirm in TSM that objects are permanently unavailable",
		ArgsUsage: "CBID... | --volume NAME",
		Description: "Runs dsmadmc (archive.dsmadmc in storagegrid.toml) as in the runbook:\n" +
			"`query actlog begindate=-DAYS search=CBID` for each CBID, reporting whether an\n" +
			"ANR0548W / data integrity error names it; or, for a whole tape,\n" +
			"`query content VOLUME`, listing each object's volume ID, CBID and Archive Node ID\n" +
			"(the filespace). The admin password is read from archive.dsmadmc.password_file and\n" +
			"given to dsmadmc's password prompt on its standard input: it never appears in the\n" +
			"process list, the environment, logs or errors.\n" +
			"Exit status: 0 when every CBID is confirmed, 4 when some are not.\n\n" +
			"   storagegrid archive tsm-check --days 7 498D8A1F681F05B3\n" +
			"   storagegrid archive tsm-check --volume A00001L4",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "days", Value: 1, Destination: &o.days, Usage: "search the activity log of the last `N` days"},
			&cli.StringFlag{Name: "volume", Destination: &o.volume, Usage: "list the objects on the TSM volume `NAME` instead"},
		},
		Action: func(c *cli.Context) error {
			if (c.NArg() == 0) == (o.volume == "") {
				return fail.Usagef("give CBIDs or --volume, not both or neither (see '%s --help')", c.Command.HelpName)
			}
			if o.volume == "" {
				var err error
				if o.cbids, err = cbidArgs(c); err != nil {
					return err
				}
			}
			return runTSMCheck(c.Context, g, o)
		},
	}
}

func runTSMCheck(ctx context.Context, g *globals, o *tsmCheckOptions) error {
	t, err := newTSM(g)
	if err != nil {
		return err
	}
	rep := tsmCheckReport{Volume: o.volume}
	if o.volume != "" {
		if rep.Objects, err = t.Content(ctx, o.volume); err != nil {
			return err
		}
		return printTSMReport(g, rep)
	}
	if rep.Checks, err = t.CheckAll(ctx, o.cbids, o.days); err != nil {
		return err
	}
	if err := printTSMReport(g, rep); err != nil {
		return err
	}
	return archive.Unconfirmed(rep.Checks)
}

func printTSMReport(g *globals, rep tsmCheckReport) error {
	if g.jsonOutput() {
		return g.printJSON(rep)
	}
	if rep.Volume != "" {
		return printContent(g, rep)
	}
	for _, ev := range rep.Checks {
		g.printf("%s: %s\n", ev.CBID, evidenceLine(ev))
	}
	return nil
}

func printContent(g *globals, rep tsmCheckReport) error {
	g.printf("%d objects on TSM volume %s\n", len(rep.Objects), rep.Volume)
	tw := tabwriter.NewWriter(g.out(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Volume-ID\tCBID\tNode-ID\tTSM-Node")
	for _, e := range rep.Objects {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.VolumeID, e.CBID, e.NodeID, e.NodeName)
	}
	return tw.Flush()
}

func evidenceLine(ev archive.Evidence) string {
	if e, ok := ev.Proof(); ok {
		return fmt.Sprintf("confirmed: %s data integrity error at %s (session %s, node %s, file space %s, volume %s)",
			e.MessageID, e.Date, e.Session, e.Node, e.Filespace, e.VolumeID)
	}
	return fmt.Sprintf("not confirmed: no data integrity error naming it in the last %d days of the activity log (%d other entries)",
		ev.Days, len(ev.Entries))
}
