//go:build !agentonly

package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/node"
)

type nodeReloadOptions struct {
	name string
}

func nodeReloadCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "reload",
		Usage:     "apply a running node's edited config: add interfaces without a restart",
		ArgsUsage: "NAME",
		Description: "After an interface was added to a running node's config (NetApp's \"Add Admin\n" +
			"or Client interfaces\" and \"Add trunk or access interfaces\" procedures):\n" +
			"   $ sudo vi /etc/storagegrid/nodes/DC1-S3.conf      # CLIENT_NETWORK_TARGET = bond0.3206\n" +
			"   $ sudo storagegrid node validate DC1-S3\n" +
			"   $ sudo storagegrid node reload DC1-S3\n" +
			"   Reloading node DC1-S3\n" +
			"     CLIENT_NETWORK_TARGET = bond0.3206 (added)\n" +
			"The node is validated first (exit 3 on errors, as 'node validate'). Its config\n" +
			"file is compared with the config it started with (kept in its var-local\n" +
			"record). Applied live: an added ADMIN_ or CLIENT_NETWORK_TARGET with its _MAC,\n" +
			"_TARGET_TYPE and _CLONE_MAC, an added INTERFACE_TARGET_nnnn, a new\n" +
			"description. Anything else needs a restart (node stop, node start), and\n" +
			"addresses the Change IP tool: reload then changes nothing, lists each such\n" +
			"key with the reason and exits 5. A node that is not running reads its config\n" +
			"when it starts: reload says so and exits 0. The payload is told with SIGHUP.",
		Action: func(c *cli.Context) error {
			name, err := oneNodeArg(c)
			if err != nil {
				return err
			}
			return runNodeReload(c, g, &nodeReloadOptions{name: name})
		},
	}
}

func runNodeReload(c *cli.Context, g *globals, opts *nodeReloadOptions) error {
	mgr, _, err := g.nodeManager()
	if err != nil {
		return err
	}
	res, err := mgr.Reload(c.Context, opts.name)
	var invalid *node.ValidationError
	var restart *node.RestartNeededError
	switch {
	case errors.As(err, &invalid):
		g.printReport(invalid.Report)
	case errors.As(err, &restart):
		g.textf("Not reloading node %s: these changes need more than a reload\n", opts.name)
		for _, ch := range restart.Changes {
			g.textf("  %s\n      %s\n", changeText(ch), ch.Why)
		}
	case err != nil:
	case res.Result == "not-running":
		g.textf("Node %s is not running: it reads its configuration when it starts\n", opts.name)
	case res.Result == "unchanged":
		g.textf("Node %s runs with its configuration file as it is: nothing to reload\n", opts.name)
	default:
		g.textf("Reloading node %s\n", opts.name)
		for _, ch := range res.Changes {
			g.textf("  %s\n", changeText(ch))
		}
	}
	if g.jsonOutput() && fail.KindOf(err) != fail.Usage {
		return joinErr(err, g.printJSON(res))
	}
	return err
}

// changeText is one change as reload prints it: KEY = VALUE (added), a
// secret's value left out.
func changeText(c node.Change) string {
	switch {
	case c.Old == "" && c.New == "":
		return c.Key + " (changed)"
	case c.Old == "":
		return c.Key + " = " + c.New + " (added)"
	case c.New == "":
		return c.Key + " = " + c.Old + " (removed)"
	}
	return c.Key + " = " + c.New + " (was " + c.Old + ")"
}
