//go:build !agentonly

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/node"
	"github.com/storagegrid/storagegrid/settings"
)

// nodeManager builds the lifecycle manager over the runtime the settings
// choose.
func (g *globals) nodeManager() (*node.Manager, *settings.Settings, error) {
	s, err := g.settings()
	if err != nil {
		return nil, nil, err
	}
	rt, err := g.newRuntime(s)
	if err != nil {
		return nil, nil, err
	}
	mgr := node.NewManager(g.root, rt)
	mgr.SetOwnership(g.ownership(s))
	return mgr, s, g.tidy(mgr)
}

// tidy finishes what a killed command left behind (an export half done, a
// config write's temporary file) before a node command looks at the nodes,
// and says so on stderr.
func (g *globals) tidy(mgr *node.Manager) error {
	notes, err := mgr.Tidy(context.Background())
	for _, n := range notes {
		g.warnf("%s", n)
	}
	return err
}

// payload is the command that runs a node: runtime.process.payload with
// {node} substituted, or the built-in demo payload.
func (g *globals) payload(s *settings.Settings, name string) ([]string, error) {
	if len(s.Runtime.Process.Payload) > 0 {
		return node.ExpandPayload(s.Runtime.Process.Payload, name), nil
	}
	return g.selfCommand("node", "demo-payload", name)
}

// payloadFor resolves the payload of the configured node named by a
// hidden command's single argument.
func (g *globals) payloadFor(c *cli.Context) (string, *settings.Settings, []string, error) {
	name, err := oneNodeArg(c)
	if err != nil {
		return "", nil, nil, err
	}
	if err := node.NewRegistry(g.root).Exists(name); err != nil {
		return "", nil, nil, fail.With(fail.Usage, err)
	}
	s, err := g.settings()
	if err != nil {
		return "", nil, nil, err
	}
	payload, err := g.payload(s, name)
	if err != nil {
		return "", nil, nil, err
	}
	// The payload launched now is the one force-recovery asked for.
	recovering, err := node.TakeRecovery(g.root, name)
	if recovering {
		os.Setenv(node.RecoveryEnv, "1")
	}
	return name, s, payload, err
}

// oneNodeArg returns the single NAME argument of a hidden command.
func oneNodeArg(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", fail.Usagef("%s needs exactly one node NAME", c.Command.HelpName)
	}
	name := c.Args().First()
	return name, fail.With(fail.Usage, node.ValidName(name))
}

func nodeSuperviseCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "supervise",
		Hidden:    true,
		Usage:     "run and watch a node's payload (started by 'node start' in its own session)",
		ArgsUsage: "NAME",
		Description: "Internal to the process runtime: 'storagegrid node start DC1-S3' runs\n" +
			"   storagegrid --root / node supervise DC1-S3\n" +
			"detached, with output to /var/log/storagegrid/nodes/DC1-S3.log.",
		Action: func(c *cli.Context) error {
			name, s, payload, err := g.payloadFor(c)
			if err != nil {
				return err
			}
			// The supervisor keeps the node's claim on its record fresh.
			mgr := node.NewManager(g.root, nil)
			mgr.SetOwnership(g.ownership(s))
			renew, every, err := mgr.Renewer(name)
			if err != nil {
				return err
			}
			return node.Supervise(node.SupervisorConfig{Root: g.root, Name: name, Payload: payload,
				StopTimeout: s.Runtime.StopTimeout.Duration, Settle: s.Runtime.Process.Settle.Duration,
				Log: g.stderr, Renew: renew, RenewEvery: every})
		},
	}
}

func nodeRunPayloadCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "run-payload",
		Hidden:    true,
		Usage:     "replace this process with a node's payload (for service managers)",
		ArgsUsage: "NAME",
		Description: "The systemd unit storagegrid-node@.service runs\n" +
			"   ExecStart=/usr/bin/storagegrid node run-payload %i\n" +
			"which execs runtime.process.payload (or the demo payload) for the node.",
		Action: func(c *cli.Context) error {
			_, _, payload, err := g.payloadFor(c)
			if err != nil {
				return err
			}
			return execPayload(payload)
		},
	}
}

func execPayload(argv []string) error {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("payload %s: %w", argv[0], err)
	}
	return fmt.Errorf("exec payload %s: %w", path, syscall.Exec(path, argv, os.Environ()))
}

func nodeDemoPayloadCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "demo-payload",
		Hidden:    true,
		Usage:     "simulate a grid node (the default payload)",
		ArgsUsage: "NAME",
		Description: "Holds the node's BLOCK_DEVICE_VAR_LOCAL open, answers health checks on\n" +
			"/run/storagegrid/nodes/NAME/health.sock and exits cleanly on SIGTERM:\n" +
			"   storagegrid --root /tmp/sandbox node demo-payload DC1-S3",
		Action: func(c *cli.Context) error {
			name, err := oneNodeArg(c)
			if err != nil {
				return err
			}
			return node.RunDemoPayload(c.Context, g.root, name)
		},
	}
}
