//go:build !agentonly

package main

import (
	"context"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/archive"
	"github.com/storagegrid/storagegrid/internal/fail"
)

// The runbook's two console steps, one command each: archive cancel and
// archive object-lost.

// consoleTargets are what cancel and object-lost share: the console
// flags and the CBIDs to send for.
type consoleTargets struct {
	console consoleOptions
	cbids   []archive.CBID
}

func (o *consoleTargets) parse(c *cli.Context) (err error) {
	o.cbids, err = cbidArgs(c)
	return err
}

type cancelOptions struct{ consoleTargets }

func archiveCancelCommand(g *globals) *cli.Command {
	o := &cancelOptions{}
	return &cli.Command{
		Name:      "cancel",
		Usage:     "cancel the retrieval requests of objects (/proc/BRTR/cancel -c CBID)",
		ArgsUsage: "CBID...",
		Description: "Sends the runbook's `/proc/BRTR/cancel -c CBID` for each CBID over one console\n" +
			"session and reports how many requests each cancelled: 1 when the tape was the only\n" +
			"source, 0 when another copy serves the retrieval. CBIDs are 16 hex digits (0x\n" +
			"optional); all are checked before anything is sent. Cancelling twice is harmless.\n\n" +
			"   storagegrid archive cancel 498D8A1F681F05B3 0xc1d172940e6c7e12",
		Flags: consoleFlags(&o.console),
		Action: func(c *cli.Context) error {
			if err := o.parse(c); err != nil {
				return err
			}
			return runCancel(c.Context, g, o)
		},
	}
}

func runCancel(ctx context.Context, g *globals, o *cancelOptions) error {
	co, err := o.console.resolve(g)
	if err != nil {
		return err
	}
	con, err := archive.Dial(ctx, co)
	if err != nil {
		return err
	}
	defer con.Close()
	results, runErr := archive.CancelAll(ctx, con, o.cbids)
	if err := printCancels(g, results); err != nil {
		return err
	}
	return runErr
}

func printCancels(g *globals, results []archive.CancelResult) error {
	if g.jsonOutput() {
		return g.printJSON(results)
	}
	for _, r := range results {
		if r.Cancelled != nil {
			g.printf("%s: %s\n", r.CBID, requests(*r.Cancelled))
		} else {
			g.printf("%s: FAILED: %s\n", r.CBID, r.Error)
		}
	}
	return nil
}

type objectLostOptions struct {
	consoleTargets
	nodeID string
}

func archiveObjectLostCommand(g *globals) *cli.Command {
	o := &objectLostOptions{}
	return &cli.Command{
		Name:      "object-lost",
		Usage:     "declare objects' copies on an Archive Node lost (/proc/CMSI/Object_Lost CBID NODE_ID)",
		ArgsUsage: "CBID...",
		Description: "Sends `/proc/CMSI/Object_Lost CBID NODE_ID` for each CBID. Success is only the\n" +
			"reply `CLOC_LOST_ANS returned result 'SUCS'`; any other result code is a failure\n" +
			"naming the code. Every command is recorded in the node's recovery journal under\n" +
			"/var/lib/storagegrid/archive, shared with `archive recover`: a CBID that already got\n" +
			"SUCS is never sent again, and one whose reply was lost is refused unless --force\n" +
			"(global) says you checked that it did not take effect. Cancel the retrieval first\n" +
			"(`archive cancel`), or let `archive recover` do both.\n\n" +
			"   storagegrid archive object-lost --node-id 13959984 498D8A1F681F05B3",
		Flags: append(consoleFlags(&o.console), nodeIDFlag(&o.nodeID)),
		Action: func(c *cli.Context) error {
			err := o.parse(c)
			if err == nil {
				o.nodeID, err = parseNodeID(o.nodeID)
			}
			if err != nil {
				return err
			}
			return runObjectLost(c.Context, g, o)
		},
	}
}

func runObjectLost(ctx context.Context, g *globals, o *objectLostOptions) error {
	co, err := o.console.resolve(g)
	if err != nil {
		return err
	}
	j, err := openJournal(ctx, g, o.nodeID, false)
	if err != nil {
		return err
	}
	defer j.Close()
	var retry []archive.CBID
	if g.force {
		retry = o.cbids
	}
	items := archive.PlanObjectLost(o.cbids, o.nodeID, j, retry)
	if held := archive.Held(items); len(held) > 0 {
		return heldErr(held, o.nodeID)
	}
	sum, err := executor(o.nodeID, j, co).Execute(ctx, items)
	if perr := printResults(g, sum); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	if sum.Count(archive.OutUnknown) > 0 {
		g.warnf("some Object_Lost replies never came back; see 'storagegrid archive journal --help' before resending")
	}
	return sum.Err()
}

// heldErr refuses to resend an Object_Lost whose outcome is unknown, and
// says how the operator settles it.
func heldErr(held []archive.CBID, nodeID string) error {
	ids := make([]string, len(held))
	for i, c := range held {
		ids[i] = string(c)
	}
	return fail.Refusedf("Object_Lost for %s was sent before and its reply never came back; nothing sent. "+
		"Check the objects in the Grid Manager, then record that it took effect with "+
		"'storagegrid archive journal --node-id %s --mark-lost CBID', or resend with --force",
		strings.Join(ids, ", "), nodeID)
}
