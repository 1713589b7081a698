//go:build !agentonly

package main

import (
	"errors"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/node"
)

type nodeForceRecoveryOptions struct {
	name    string
	timeout time.Duration // 0: runtime.stop_timeout
}

func nodeForceRecoveryCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "force-recovery",
		Usage:     "restart a node in recovery mode: for a node that does not rejoin the grid",
		ArgsUsage: "NAME",
		Description: "NetApp's \"Recover nodes that fail to start normally\": when a node whose\n" +
			"network configuration is right does not rejoin the grid, force it into\n" +
			"recovery mode, then perform the grid's additional recovery steps.\n" +
			"   $ sudo storagegrid node force-recovery DC1-S3\n" +
			"   Forcing recovery of node DC1-S3: its record on /dev/mapper/sgws-dc1-s3-var-local is corrupt\n" +
			"   Starting node DC1-S3 in recovery mode\n" +
			"What it does: validates the node (exit 3 on errors), stops it if it runs,\n" +
			"writes a fresh record owned by this host on its var-local device, flags it\n" +
			"for recovery (its payload starts with STORAGEGRID_RECOVERY=1) and starts it.\n" +
			"It is for a node whose var-local record is missing or damaged; one whose\n" +
			"record is intact starts with 'node start', and force-recovery refuses it\n" +
			"(exit 5) unless the global --force is given. A record another host holds\n" +
			"active is refused as 'node start' refuses it.",
		Flags: []cli.Flag{stopTimeoutFlag("a running node")},
		Action: func(c *cli.Context) error {
			name, err := oneNodeArg(c)
			if err != nil {
				return err
			}
			timeout, err := stopTimeout(c)
			if err != nil {
				return err
			}
			return runNodeForceRecovery(c, g, &nodeForceRecoveryOptions{name: name, timeout: timeout})
		},
	}
}

func runNodeForceRecovery(c *cli.Context, g *globals, opts *nodeForceRecoveryOptions) error {
	mgr, s, err := g.nodeManager()
	if err != nil {
		return err
	}
	stop := g.stopOptions(s, opts.timeout)
	stop.Force = false // --force is about the record here, not about killing
	res, err := mgr.ForceRecovery(c.Context, opts.name, stop, func(step node.RecoveryStep, r node.RecoveryResult) {
		switch step {
		case node.RecoveryBegin:
			g.textf("Forcing recovery of node %s: its record on %s is %s\n", r.Node, r.Device, r.Record)
		case node.RecoveryStop:
			g.announceStop(r.Node, stop)
		case node.RecoveryStart:
			g.textf("Starting node %s in recovery mode\n", r.Node)
		}
	})
	var invalid *node.ValidationError
	if errors.As(err, &invalid) {
		g.printReport(invalid.Report)
	}
	if err == nil {
		g.textf("Node %s is in recovery mode: perform the additional recovery steps "+
			"(\"What's next: Perform additional recovery steps, if required\")\n", res.Node)
	}
	if g.jsonOutput() && fail.KindOf(err) != fail.Usage {
		return joinErr(err, g.printJSON(res))
	}
	return err
}
