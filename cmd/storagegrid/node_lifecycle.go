//go:build !agentonly

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/finding"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/node"
	"github.com/storagegrid/storagegrid/settings"
)

// actionRow is one node in `node start|stop --output json`.
type actionRow struct {
	Name   string `json:"name"`
	Result string `json:"result"` // started, already-running, stopped, killed, not-running, refused, invalid, failed
	Error  string `json:"error,omitempty"`
	// Findings: why start refused a node that validate finds errors in.
	Findings []finding.Finding `json:"findings,omitempty"`
}

func resultRow(name string, out node.Outcome, err error) actionRow {
	switch {
	case err == nil:
		return actionRow{Name: name, Result: string(out)}
	case fail.KindOf(err) == fail.Refused:
		return actionRow{Name: name, Result: "refused", Error: err.Error()}
	}
	var invalid *node.ValidationError
	if errors.As(err, &invalid) {
		row := actionRow{Name: name, Result: "invalid", Error: err.Error()}
		for _, c := range invalid.Report.Checks {
			row.Findings = append(row.Findings, c.Findings...)
		}
		return row
	}
	return actionRow{Name: name, Result: "failed", Error: err.Error()}
}

type nodeStartOptions struct {
	names []string
}

func nodeStartCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "start nodes",
		ArgsUsage: "NAME... | all",
		Description: "Starts each node's payload under the configured runtime and waits until it\n" +
			"runs. A node that is already running is left alone; a node whose payload\n" +
			"exits at once is reported as failed.\n" +
			"   $ storagegrid node start DC1-S3\n" +
			"   Starting node DC1-S3\n" +
			"A node is validated first, as by 'node validate NAME': when that finds errors\n" +
			"(a missing device or interface, a bad key) it is not started, its findings are\n" +
			"printed and the exit code is 3; --force does not skip this.\n" +
			"An ORPHANED node (payload running without its supervisor) is not started\n" +
			"(exit 5); stop it first. With several nodes, failures do not stop the\n" +
			"others and the exit code is 4 when some failed.",
		Action: func(c *cli.Context) error {
			if !c.Args().Present() {
				return fail.Usagef("node start needs NAME... or all (see '%s --help')", c.Command.HelpName)
			}
			return runNodeStart(c, g, &nodeStartOptions{names: c.Args().Slice()})
		},
	}
}

func runNodeStart(c *cli.Context, g *globals, opts *nodeStartOptions) error {
	mgr, _, names, err := g.nodesFor(opts.names)
	if err != nil {
		return err
	}
	rows := []actionRow{}
	err = g.eachNode(names, func(name string) error {
		var out node.Outcome
		err := g.await("node "+name+" to start", 0, runState(mgr, name), func() (err error) {
			out, err = mgr.Start(c.Context, name, func() { g.textf("Starting node %s\n", name) })
			return err
		})
		rows = append(rows, resultRow(name, out, err))
		var invalid *node.ValidationError
		switch {
		case errors.As(err, &invalid):
			g.printReport(invalid.Report)
		case errors.Is(err, node.ErrOrphaned):
			g.textf("Not starting ORPHANED node %s\n", name)
		case out == node.AlreadyRunning:
			g.textf("Node %s is already running\n", name)
		}
		return err
	})
	if g.jsonOutput() {
		return joinErr(err, g.printJSON(rows))
	}
	return err
}

type nodeStopOptions struct {
	names   []string
	timeout time.Duration // 0: settings runtime.stop_timeout
}

func nodeStopCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop nodes, waiting for a clean shutdown",
		ArgsUsage: "NAME... | all",
		Description: "Asks each node's payload to shut down (SIGTERM) and waits up to the stop\n" +
			"timeout (--timeout, else runtime.stop_timeout in storagegrid.toml, 630s by\n" +
			"default); a payload still running then is killed and stop exits 1.\n" +
			"   $ storagegrid node stop DC1-S3\n" +
			"   Stopping node DC1-S3\n" +
			"   Waiting up to 630 seconds for node shutdown\n" +
			"The global --force kills at once without waiting:\n" +
			"   $ storagegrid --force node stop DC1-S3",
		Flags:        []cli.Flag{stopTimeoutFlag("each node")},
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			if !c.Args().Present() {
				return fail.Usagef("node stop needs NAME... or all (see '%s --help')", c.Command.HelpName)
			}
			timeout, err := stopTimeout(c)
			if err != nil {
				return err
			}
			return runNodeStop(c, g, &nodeStopOptions{names: c.Args().Slice(), timeout: timeout})
		},
	}
}

// stopTimeoutFlag is --timeout of the commands that stop nodes; who says
// which ("each node").
func stopTimeoutFlag(who string) cli.Flag {
	return &cli.DurationFlag{Name: "timeout", DefaultText: "runtime.stop_timeout",
		Usage: "wait up to `D` (e.g. 2m, 630s) for " + who + " to shut down"}
}

// stopTimeout reads --timeout: 0 when not given, which means the setting.
func stopTimeout(c *cli.Context) (time.Duration, error) {
	if c.IsSet("timeout") && c.Duration("timeout") <= 0 {
		return 0, fail.Usagef("--timeout %s: must be positive", c.Duration("timeout"))
	}
	return c.Duration("timeout"), nil
}

// stopOptions fills a stop's timeout from runtime.stop_timeout when
// --timeout was not given.
func (g *globals) stopOptions(s *settings.Settings, timeout time.Duration) node.StopOptions {
	stop := node.StopOptions{Timeout: timeout, Force: g.force}
	if stop.Timeout == 0 {
		stop.Timeout = s.Runtime.StopTimeout.Duration
	}
	return stop
}

func runNodeStop(c *cli.Context, g *globals, opts *nodeStopOptions) error {
	mgr, s, names, err := g.nodesFor(opts.names)
	if err != nil {
		return err
	}
	stop := g.stopOptions(s, opts.timeout)
	rows := []actionRow{}
	err = g.eachNode(names, func(name string) error {
		var out node.Outcome
		err := g.await("node "+name+" to shut down", stop.Timeout, runState(mgr, name), func() (err error) {
			out, err = mgr.Stop(c.Context, name, stop, func() { g.announceStop(name, stop) })
			return err
		})
		if err != nil && c.Context.Err() != nil {
			err = interruptedStop(mgr, name, stop)
		}
		rows = append(rows, resultRow(name, out, err))
		if out == node.WasNotRunning {
			g.textf("Node %s is not running\n", name)
		}
		return err
	})
	if g.jsonOutput() {
		return joinErr(err, g.printJSON(rows))
	}
	return err
}

// runState reads a node's run state for progress lines.
func runState(mgr *node.Manager, name string) func() string {
	return func() string {
		st, err := mgr.Status(context.Background(), name)
		if err != nil {
			return "state unknown"
		}
		return string(st.RunState)
	}
}

// interruptedStop says what an interrupted stop left: the stop was asked
// for, and the node's supervisor goes on with it (up to the timeout, then
// it kills the payload) whether or not anyone waits.
func interruptedStop(mgr *node.Manager, name string, stop node.StopOptions) error {
	state := "in an unknown state"
	if st, err := mgr.Status(context.Background(), name); err == nil {
		state = string(st.RunState)
	}
	return fail.With(fail.Interrupted, fmt.Errorf("interrupted while waiting for node %s to shut down: it is %s; "+
		"its supervisor goes on stopping it (killing it after %ss): see 'storagegrid node status %s'",
		name, state, node.Seconds(stop.Timeout), name))
}

func (g *globals) announceStop(name string, stop node.StopOptions) {
	g.textf("Stopping node %s\n", name)
	if stop.Force {
		g.textf("Killing node %s without waiting for shutdown (--force)\n", name)
		return
	}
	g.textf("Waiting up to %s seconds for node shutdown\n", node.Seconds(stop.Timeout))
}
