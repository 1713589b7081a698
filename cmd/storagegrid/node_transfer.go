//go:build !agentonly

package main

import (
	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/node"
	"github.com/storagegrid/storagegrid/settings"
)

// ownership is how the node commands keep the var-local record: files
// stand in for devices only with [devices] allow_files, and the global
// --force overrides ownership refusals.
func (g *globals) ownership(s *settings.Settings) node.Ownership {
	return node.Ownership{Devices: blockdev.Options{Root: g.root, AllowFiles: s.Devices.AllowFiles}, Force: g.force,
		Lease: node.LeaseTiming{ClaimWait: s.Lease.ClaimWait.Duration, RenewEvery: s.Lease.RenewEvery.Duration,
			ExpireAfter: s.Lease.ExpireAfter.Duration}}
}

type nodeExportOptions struct {
	name string
}

func nodeExportCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "hand a stopped node over to shared storage, for import on another host",
		ArgsUsage: "NAME",
		Description: "Writes the node's config into the record on its var-local device, marked\n" +
			"exported, keeps a copy in /var/lib/storagegrid/exported/NAME.conf and removes\n" +
			"the node from this host. The node must be Not-Running (else exit 5):\n" +
			"   $ storagegrid node stop DC1-S3\n" +
			"   $ storagegrid node export DC1-S3\n" +
			"   Finished exporting node DC1-S3 to /dev/mapper/sgws-dc1-s3-var-local.\n" +
			"   Use 'storagegrid node import /dev/mapper/sgws-dc1-s3-var-local' if you\n" +
			"   want to import it again.\n" +
			"A record another host owns is refused (exit 5) unless the global --force.",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fail.Usagef("node export needs exactly one NAME (see '%s --help')", c.Command.HelpName)
			}
			return runNodeExport(c, g, &nodeExportOptions{name: c.Args().First()})
		},
	}
}

func runNodeExport(c *cli.Context, g *globals, opts *nodeExportOptions) error {
	mgr, _, err := g.nodeManager()
	if err != nil {
		return err
	}
	res, err := mgr.Export(c.Context, opts.name)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(res)
	}
	g.printExported(res)
	return nil
}

// printExported prints the runbook's lines for a finished export.
func (g *globals) printExported(res node.ExportResult) {
	g.printf("Finished exporting node %s to %s.\n", res.Node, res.Device)
	g.printf("Use 'storagegrid node import %s' if you\nwant to import it again.\n", res.Device)
}

type nodeImportOptions struct {
	device string
}

func nodeImportCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "install a node exported to shared storage from another host",
		ArgsUsage: "DEVICE",
		Description: "Reads the node record on DEVICE (the var-local device export named),\n" +
			"verifies it and writes /etc/storagegrid/nodes/NAME.conf from it:\n" +
			"   $ storagegrid node import /dev/mapper/sgws-dc1-s3-var-local\n" +
			"   Finished importing node DC1-S3 from /dev/mapper/sgws-dc1-s3-var-local.\n" +
			"   You should run 'storagegrid node validate DC1-S3'\n" +
			"Refused (exit 5) when a node of that name is configured here, or when the\n" +
			"record is active or cleanly stopped on another host (not exported):\n" +
			"   This node (DC1-S3) appears to be owned by another host (UUID ...).\n" +
			"   Use the --force flag if you are sure import is safe.\n" +
			"The global --force overrides the ownership refusal:\n" +
			"   $ storagegrid --force node import /dev/mapper/sgws-dc1-s3-var-local",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fail.Usagef("node import needs exactly one DEVICE (see '%s --help')", c.Command.HelpName)
			}
			return runNodeImport(c, g, &nodeImportOptions{device: c.Args().First()})
		},
	}
}

func runNodeImport(c *cli.Context, g *globals, opts *nodeImportOptions) error {
	mgr, _, err := g.nodeManager()
	if err != nil {
		return err
	}
	res, err := mgr.Import(c.Context, opts.device)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		g.warnf("%s", w)
	}
	if g.jsonOutput() {
		return g.printJSON(res)
	}
	g.printImported(res)
	return nil
}

// printImported prints the runbook's lines for a finished import.
func (g *globals) printImported(res node.ImportResult) {
	g.printf("Finished importing node %s from %s.\n", res.Node, res.Device)
	g.printf("You should run 'storagegrid node validate %s'\n", res.Node)
}
