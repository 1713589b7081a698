//go:build !agentonly

package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/archive"
)

type journalOptions struct {
	nodeID   string
	markLost []archive.CBID
}

func archiveJournalCommand(g *globals) *cli.Command {
	o := &journalOptions{}
	var mark cli.StringSlice
	return &cli.Command{
		Name:  "journal",
		Usage: "show a node's recovery journal, or record that an Object_Lost took effect",
		Description: "Shows what the recovery journal of an Archive Node says about each object:\n" +
			"pending, cancelled, failed, unknown (Object_Lost sent, reply lost) or lost (SUCS).\n" +
			"After an unknown outcome, check the object in the Grid Manager; if the Object_Lost\n" +
			"did take effect, record it with --mark-lost so no rerun sends it again.\n\n" +
			"   storagegrid archive journal --node-id 13959984\n" +
			"   storagegrid archive journal --node-id 13959984 --mark-lost 498D8A1F681F05B3",
		Flags: []cli.Flag{
			nodeIDFlag(&o.nodeID),
			&cli.StringSliceFlag{Name: "mark-lost", Destination: &mark,
				Usage: "record that Object_Lost for `CBID` took effect (after checking)"},
		},
		Action: func(c *cli.Context) error {
			var err error
			if o.nodeID, err = parseNodeID(o.nodeID); err != nil {
				return err
			}
			if o.markLost, err = cbidFlag("mark-lost", &mark); err != nil {
				return err
			}
			return runJournal(c.Context, g, o)
		},
	}
}

func runJournal(ctx context.Context, g *globals, o *journalOptions) error {
	j, err := openJournal(ctx, g, o.nodeID, len(o.markLost) == 0)
	if err != nil {
		return err
	}
	defer j.Close()
	for _, id := range o.markLost {
		if err := j.MarkLost(id, g.force); err != nil {
			return err
		}
	}
	all := j.All()
	if g.jsonOutput() {
		return g.printJSON(all)
	}
	g.printf("Journal %s: %s\n", j.Path(), plural(len(all), "object"))
	if len(all) == 0 {
		return nil
	}
	return printJournal(g, all)
}

func printJournal(g *globals, all []archive.Progress) error {
	tw := tabwriter.NewWriter(g.out(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CBID\tStatus\tCancelled\tObject_Lost-Sent\tResult\tLast-Error")
	for _, p := range all {
		cancelled := "-"
		if p.Cancelled != nil {
			cancelled = fmt.Sprint(*p.Cancelled)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", p.CBID, p.Status, cancelled, p.LostSends, dash(p.Result), dash(p.LastError))
	}
	return tw.Flush()
}
