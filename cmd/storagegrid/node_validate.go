//go:build !agentonly

package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/node"
)

type nodeValidateOptions struct {
	target string // NAME or "all"
	file   string // --file: PATH, "-" for stdin, "" for an installed node
}

func nodeValidateCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check node configs, devices and unique values before starting nodes",
		ArgsUsage: "NAME | all | --file PATH|- [NAME]",
		Description: "Checks that the node exists, every key of its config, that every block device\n" +
			"exists, is a block device and (var-local) can hold the node record, and that\n" +
			"no IP, MAC or device is used twice on this host (also two paths to one device):\n" +
			"   $ storagegrid node validate DC1-S3\n" +
			"   Confirming existence of node DC1-S3... PASSED\n" +
			"   Checking configuration file /etc/storagegrid/nodes/DC1-S3.conf for node DC1-S3... PASSED\n" +
			"   Checking for duplication of unique values... PASSED\n" +
			"A check that finds anything lists its findings instead of PASSED:\n" +
			"     ERROR: GRID_NETWORK_IP = 10.1.3\n" +
			"            10.1.3 is not a valid IPv4 address\n" +
			"Exit status 3 when errors were found; warnings alone exit 0, except with the\n" +
			"global -q/--quiet (no output), where any warning or error exits 3.\n" +
			"--file checks a config not installed here as if it had been imported, e.g. on\n" +
			"the target host before a migration (NAME defaults to PATH's NAME.conf):\n" +
			"   $ storagegrid node validate --file - DC1-S3 < DC1-S3.conf",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "file", Usage: "validate the config in `PATH` (- for standard input) as if imported"},
		},
		Action: func(c *cli.Context) error {
			opts := &nodeValidateOptions{file: c.String("file"), target: c.Args().First()}
			if c.NArg() > 1 || (opts.file == "" && c.NArg() != 1) {
				return fail.Usagef("node validate needs NAME, all, or --file PATH [NAME] (see '%s --help')", c.Command.HelpName)
			}
			return runNodeValidate(g, opts)
		},
	}
}

func runNodeValidate(g *globals, opts *nodeValidateOptions) error {
	mgr, _, err := g.nodeManager()
	if err != nil {
		return err
	}
	var r node.Report
	subject := opts.target
	switch {
	case opts.file != "":
		subject, r, err = validateFile(g, mgr, opts)
	case opts.target == "all":
		subject = "all nodes"
		r, err = mgr.ValidateAll()
	default:
		subject = "node " + subject
		r, err = mgr.Validate(opts.target)
	}
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		err = g.printJSON(r)
	} else {
		g.printReport(r)
	}
	if r.Errors > 0 {
		return fail.Invalidf("validation of %s found %s", subject, plural(r.Errors, "error"))
	}
	if g.quiet && r.Warnings > 0 {
		// The docs: "If you suppress the output, the command will have a
		// non-zero exit value if any configuration warnings or errors
		// were detected."
		return fail.Invalidf("validation of %s found %s", subject, plural(r.Warnings, "warning"))
	}
	return err
}

// validateFile runs `validate --file`: the node name is the argument, or
// PATH's base name without .conf.
func validateFile(g *globals, mgr *node.Manager, opts *nodeValidateOptions) (string, node.Report, error) {
	name, shown := opts.target, opts.file
	var in io.Reader = g.stdin
	if opts.file == "-" {
		shown = "(standard input)"
	} else {
		f, err := os.Open(opts.file)
		if err != nil {
			return "", node.Report{}, fail.Usagef("--file: %v", err)
		}
		defer f.Close()
		in = f
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(opts.file), ".conf")
		}
	}
	if name == "" {
		return "", node.Report{}, fail.Usagef("node validate --file - needs the NAME the node would have")
	}
	r, err := mgr.ValidateFile(name, shown, in)
	return "node " + name + " from " + shown, r, err
}
