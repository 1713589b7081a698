//go:build !agentonly

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/node"
	"github.com/storagegrid/storagegrid/settings"
)

func init() {
	register(10, nodeCommand)
}

func nodeCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "node",
		Usage: "status, start, stop, reload, export, import, validate, migrate and force-recovery the grid nodes of this host",
		Description: "Nodes are configured in /etc/storagegrid/nodes/NAME.conf (KEY = VALUE lines).\n" +
			"The runbook's first step on every host:\n" +
			"   storagegrid node status all",
		Subcommands: []*cli.Command{
			nodeStatusCommand(g),
			nodeListCommand(g),
			nodeStartCommand(g),
			nodeStopCommand(g),
			nodeReloadCommand(g),
			nodeExportCommand(g),
			nodeImportCommand(g),
			nodeValidateCommand(g),
			nodeMigrateCommand(g),
			nodeForceRecoveryCommand(g),
			nodeSuperviseCommand(g),
			nodeRunPayloadCommand(g),
			nodeKeepClaimCommand(g),
			nodeDemoPayloadCommand(g),
		},
	}
}

type nodeStatusOptions struct {
	names []string
}

// statusRow is one node in `node status --output json`.
type statusRow struct {
	Name        string `json:"name"`
	ConfigState string `json:"config_state"`
	RunState    string `json:"run_state"`
	ConfigError string `json:"config_error,omitempty"`
	// Migration is set for a node half-way through a migration.
	Migration *node.Journal `json:"migration,omitempty"`
}

func nodeStatusCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show the config and run state of nodes",
		ArgsUsage: "[all | NAME...]",
		Description: "Without names, or with \"all\", shows every node configured here:\n" +
			"   $ storagegrid node status all\n" +
			"   Name Config-State Run-State\n" +
			"   DC1-ADM1 Configured Running\n" +
			"   DC1-S3 Configured Not-Running\n" +
			"Run-State is Running, Not-Running, Starting, Stopping or Orphaned (the payload\n" +
			"runs but its supervisor died). Config-State is Configured, or Invalid when the\n" +
			"config file does not parse.",
		Action: func(c *cli.Context) error {
			return runNodeStatus(c, g, &nodeStatusOptions{names: c.Args().Slice()})
		},
	}
}

func runNodeStatus(c *cli.Context, g *globals, opts *nodeStatusOptions) error {
	mgr, _, names, err := g.nodesFor(opts.names)
	var half map[string]*node.Journal
	if mgr != nil {
		half = g.migrationHints(mgr, opts.names)
	}
	if err != nil {
		return err
	}
	rows := []statusRow{}
	err = g.eachNode(names, func(name string) error {
		st, err := mgr.Status(c.Context, name)
		if err != nil {
			return err
		}
		row := statusRow{Name: st.Name, ConfigState: string(st.ConfigState), RunState: string(st.RunState), Migration: half[name]}
		if st.ConfigErr != nil {
			g.warnf("%v", st.ConfigErr)
			row.ConfigError = st.ConfigErr.Error()
		}
		rows = append(rows, row)
		return nil
	})
	if g.jsonOutput() {
		return joinErr(err, g.printJSON(rows))
	}
	if len(rows) == 0 {
		return err // no header over nothing: an unknown node, or none configured
	}
	g.printf("Name Config-State Run-State\n")
	for _, r := range rows {
		g.printf("%s %s %s\n", r.Name, r.ConfigState, r.RunState)
	}
	return err
}

// listRow is one node in `node list --output json`.
type listRow struct {
	Name           string `json:"name"`
	MetadataVolume string `json:"metadata_volume"`
	ConfigError    string `json:"config_error,omitempty"`
}

func nodeListCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the nodes configured here with their metadata volume",
		Description: "The metadata volume is the node's BLOCK_DEVICE_VAR_LOCAL, the device that\n" +
			"export and import move between hosts:\n" +
			"   $ storagegrid node list\n" +
			"   Name               Metadata-Volume\n" +
			"   ================================================================\n" +
			"   DC1-S3             /dev/mapper/sgws-dc1-s3-var-local",
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fail.Usagef("node list takes no arguments")
			}
			return runNodeList(g)
		},
	}
}

func runNodeList(g *globals) error {
	s, err := g.settings()
	if err != nil {
		return err
	}
	mgr := g.ownerManager(s) // list runs nothing: no runtime needed
	if err := g.tidy(mgr); err != nil {
		return err
	}
	reg := mgr.Registry()
	names, err := g.resolveNodes(reg, nil)
	if err != nil {
		return err
	}
	g.migrationHints(mgr, nil)
	rows := []listRow{}
	for _, name := range names {
		row := listRow{Name: name}
		if cfg, err := reg.Load(name); err != nil {
			g.warnf("%v", err)
			row.ConfigError = err.Error()
		} else {
			row.MetadataVolume, _ = cfg.Get("BLOCK_DEVICE_VAR_LOCAL")
		}
		rows = append(rows, row)
	}
	if g.jsonOutput() {
		return g.printJSON(rows)
	}
	if len(rows) == 0 {
		return nil // as the host service: no nodes, no output at all
	}
	g.printf("%-18s %s\n%s\n", "Name", "Metadata-Volume", "================================================================")
	for _, r := range rows {
		vol := r.MetadataVolume
		if vol == "" {
			vol = "-"
		}
		g.printf("%-18s %s\n", r.Name, vol)
	}
	return nil
}

// migrationHints warns about the nodes half-way through a migration (of
// those named, all when none or "all" is): where each is and the command
// that finishes the move. It returns their journals by name.
func (g *globals) migrationHints(mgr *node.Manager, names []string) map[string]*node.Journal {
	js, err := mgr.Migrations()
	if err != nil {
		g.warnf("%v", err)
	}
	asked := map[string]bool{}
	for _, n := range names {
		asked[n] = true
	}
	half := map[string]*node.Journal{}
	for _, j := range js {
		if len(names) == 0 || asked["all"] || asked[j.Node] {
			g.warnf("%s", j.Hint())
			half[j.Node] = &j
		}
	}
	return half
}

// nodesFor sets up the lifecycle manager and expands the node names of a
// command line.
func (g *globals) nodesFor(args []string) (*node.Manager, *settings.Settings, []string, error) {
	mgr, s, err := g.nodeManager()
	if err != nil {
		return nil, nil, nil, err
	}
	names, err := g.resolveNodes(mgr.Registry(), args)
	return mgr, s, names, err
}

// resolveNodes expands "all" (or no names) into the configured nodes and
// warns about misnamed files in the config directory.
func (g *globals) resolveNodes(reg *node.Registry, args []string) ([]string, error) {
	names, warnings, err := reg.Resolve(args)
	for _, w := range warnings {
		g.warnf("%s", w)
	}
	return names, err
}

// eachNode runs f for every node, past failures. With several nodes each
// failure is printed as it happens and the result says how many failed:
// a partial failure (exit 4) when others succeeded.
func (g *globals) eachNode(names []string, f func(name string) error) error {
	var failed []error
	for _, name := range names {
		err := f(name)
		if err == nil {
			continue
		}
		failed = append(failed, err)
		if len(names) > 1 {
			fmt.Fprintf(g.stderr, "storagegrid: %v\n", err)
		}
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(names) == 1:
		return failed[0]
	case len(failed) < len(names):
		return fail.Partialf("%d of %d nodes failed", len(failed), len(names))
	}
	return fail.With(commonKind(failed), fmt.Errorf("all %d nodes failed", len(names)))
}

// commonKind is the kind all errs share, or fail.Failed.
func commonKind(errs []error) fail.Kind {
	k := fail.KindOf(errs[0])
	for _, err := range errs[1:] {
		if fail.KindOf(err) != k {
			return fail.Failed
		}
	}
	return k
}

// joinErr keeps the first error, so the exit code stays that of the
// operation rather than of printing.
func joinErr(first, second error) error {
	if first != nil {
		return first
	}
	return second
}
