//go:build !agentonly

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
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
			renew, every, err := g.ownerManager(s).Renewer(name)
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
			"which execs runtime.process.payload (or the demo payload) for the node. It\n" +
			"claims the node first unless 'node start' already did (a plain 'systemctl\n" +
			"start' must not run a node another host owns), and leaves beside the payload\n" +
			"'storagegrid node keep-claim NAME PID', which renews the claim while it runs.",
		Action: func(c *cli.Context) error {
			name, s, payload, err := g.payloadFor(c)
			if err != nil {
				return err
			}
			mgr := g.ownerManager(s)
			if err := mgr.EnsureClaim(c.Context, name); err != nil {
				return err
			}
			keeper, err := g.selfCommand("node", "keep-claim", name, strconv.Itoa(os.Getpid()))
			if err != nil {
				return err
			}
			k := exec.Command(keeper[0], keeper[1:]...)
			k.Stdout, k.Stderr = os.Stderr, os.Stderr
			if err := k.Start(); err != nil {
				return fmt.Errorf("node %s: start the claim keeper: %w", name, err)
			}
			return execPayload(payload)
		},
	}
}

// ownerManager is a Manager without a runtime, for the commands that run
// no node: node list, and those inside a node's service, which read and
// renew its claim.
func (g *globals) ownerManager(s *settings.Settings) *node.Manager {
	mgr := node.NewManager(g.root, nil)
	mgr.SetOwnership(g.ownership(s))
	return mgr
}

func nodeKeepClaimCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "keep-claim",
		Hidden:    true,
		Usage:     "renew a node's claim while its payload runs (started by 'node run-payload')",
		ArgsUsage: "NAME PID",
		Description: "Renews the claim of node NAME on its var-local record every\n" +
			"lease.renew_every while process PID (its payload) runs, and ends with it.\n" +
			"When another host has taken the node over, it sends the payload SIGTERM.",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return fail.Usagef("%s needs NAME and PID", c.Command.HelpName)
			}
			name := c.Args().Get(0)
			pid, err := strconv.Atoi(c.Args().Get(1))
			if err != nil || pid <= 0 {
				return fail.Usagef("%s: %q is not a process id", c.Command.HelpName, c.Args().Get(1))
			}
			s, err := g.settings()
			if err != nil {
				return err
			}
			renew, every, err := g.ownerManager(s).Renewer(name)
			if err != nil {
				return err
			}
			return node.KeepClaim(c.Context, pid, renew, every, g.stderr)
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
