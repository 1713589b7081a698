//go:build !agentonly

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/secretfile"
	"github.com/storagegrid/storagegrid/vmware"
)

func init() {
	register(50, vmwareCommand)
}

func vmwareCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "vmware",
		Usage: "power on grid-node VMs and make them start with their vSphere host",
		Description: "Talks to an ESXi host or a vCenter through the vSphere API. The connection\n" +
			"comes from flags, else the govc variables GOVC_URL, GOVC_USERNAME,\n" +
			"GOVC_PASSWORD and GOVC_INSECURE, else the [vmware] section of storagegrid.toml.\n\n" +
			"   storagegrid vmware check\n" +
			"   storagegrid vmware power-on DC1-S3\n" +
			"   storagegrid vmware autostart enable DC1-S3 DC1-S4",
		Subcommands: []*cli.Command{
			vmwarePowerOnCommand(g),
			vmwareAutostartCommand(g),
			vmwareCheckCommand(g),
		},
	}
}

// vmwareConnOptions are the connection flags every vmware command takes.
type vmwareConnOptions struct {
	url, username, passwordFile, thumbprint string
	insecure                                *bool
	timeout                                 time.Duration // 0: vmware.timeout, else vmware.DefaultTimeout
}

func vmwareConnFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "url", Usage: "vSphere `URL` (host, host:port or https://host/sdk); default GOVC_URL, then vmware.url"},
		&cli.StringFlag{Name: "username", Usage: "vSphere user `NAME`; default GOVC_USERNAME, then vmware.username"},
		&cli.StringFlag{Name: "password-file", Usage: "read the password from the first line of `FILE`; default GOVC_PASSWORD, then vmware.password_file"},
		&cli.BoolFlag{Name: "insecure", Usage: "do not verify the server's TLS certificate; default GOVC_INSECURE, then vmware.insecure"},
		&cli.StringFlag{Name: "thumbprint", Usage: "accept only a server certificate with this SHA-1 or SHA-256 `FINGERPRINT`; default vmware.thumbprint"},
		&cli.DurationFlag{Name: "timeout", Usage: "give up on a vSphere call after `D` (connecting: after 10s); default vmware.timeout, then 60s"},
	}
}

func vmwareConnFromFlags(c *cli.Context) vmwareConnOptions {
	o := vmwareConnOptions{url: c.String("url"), username: c.String("username"), passwordFile: c.String("password-file"),
		thumbprint: c.String("thumbprint"), timeout: c.Duration("timeout")}
	if c.IsSet("insecure") {
		v := c.Bool("insecure")
		o.insecure = &v
	}
	return o
}

// connect resolves the connection (flags > environment > settings) and
// logs in. The settings' password file, a host path, is read only when
// neither a flag nor the environment gives a password.
func (o vmwareConnOptions) connect(ctx context.Context, g *globals) (*vmware.Client, error) {
	s, err := g.settings()
	if err != nil {
		return nil, err
	}
	flags := vmware.Source{Name: "--url", URL: o.url, Username: o.username, Thumbprint: o.thumbprint, Insecure: o.insecure}
	if o.passwordFile != "" {
		if flags.Password, err = secretfile.FirstLine(o.passwordFile, o.passwordFile); err != nil {
			return nil, fail.With(fail.Usage, err)
		}
	}
	env, err := vmware.EnvSource(os.Getenv)
	if err != nil {
		return nil, err
	}
	v := s.VMware
	file := vmware.Source{Name: "vmware.url", URL: v.URL, Username: v.Username, Thumbprint: v.Thumbprint}
	if v.Insecure {
		file.Insecure = &v.Insecure
	}
	if v.PasswordFile != "" && flags.Password == "" && env.Password == "" {
		if file.Password, err = secretfile.FirstLine(g.root.Join(v.PasswordFile), v.PasswordFile); err != nil {
			return nil, fail.With(fail.Usage, err)
		}
	}
	cfg, err := vmware.Resolve(flags, env, file)
	if err != nil {
		return nil, err
	}
	switch {
	case o.timeout < 0:
		return nil, fail.Usagef("--timeout %s: must be positive", o.timeout)
	case o.timeout > 0:
		cfg.Timeout = o.timeout
	default:
		cfg.Timeout = v.Timeout.Duration
	}
	return vmware.Connect(ctx, cfg)
}

// withVMware runs f with a session and closes the session afterwards,
// even when the command was interrupted.
func withVMware(c *cli.Context, g *globals, o vmwareConnOptions, f func(*vmware.Client) error) error {
	client, err := o.connect(c.Context, g)
	if err != nil {
		return err
	}
	defer func() { _ = client.Close(context.WithoutCancel(c.Context)) }()
	return f(client)
}

// jsonThen prints v as JSON and returns the command's error: scripts get
// the per-VM results and the exit code that sums them up.
func jsonThen(g *globals, v any, err error) error {
	if jerr := g.printJSON(v); jerr != nil {
		return jerr
	}
	return err
}

func needVMs(c *cli.Context) ([]string, error) {
	if c.NArg() == 0 {
		return nil, fail.Usagef("name at least one VM (see '%s --help')", c.Command.HelpName)
	}
	return c.Args().Slice(), nil
}

type vmwarePowerOnOptions struct {
	conn vmwareConnOptions
	vms  []string
}

func vmwarePowerOnCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "power-on",
		Usage:     "power on VMs and wait until they are on",
		ArgsUsage: "VM...",
		Description: "Each VM is a name or an inventory path (/DC1/vm/grid/DC1-S3). All names are\n" +
			"resolved before anything is powered on; a VM that is already on is not an\n" +
			"error. Exit 4 when some VMs were powered on and others failed.\n\n" +
			"   storagegrid vmware power-on --url vcenter.example --username admin@vsphere.local \\\n" +
			"       --password-file /root/.vcenter DC1-S3 DC1-S4",
		Flags: vmwareConnFlags(),
		Action: func(c *cli.Context) error {
			vms, err := needVMs(c)
			if err != nil {
				return err
			}
			return runVMwarePowerOn(c, g, vmwarePowerOnOptions{conn: vmwareConnFromFlags(c), vms: vms})
		},
	}
}

func runVMwarePowerOn(c *cli.Context, g *globals, o vmwarePowerOnOptions) error {
	return withVMware(c, g, o.conn, func(client *vmware.Client) error {
		var res []vmware.PowerResult
		err := g.await(fmt.Sprintf("%d VM(s) to power on", len(o.vms)), 0, func() string { return "powering on" },
			func() (err error) {
				res, err = client.PowerOn(c.Context, o.vms)
				return err
			})
		if res == nil {
			return err
		}
		if g.jsonOutput() {
			return jsonThen(g, res, err)
		}
		for _, r := range res {
			switch r.Result {
			case vmware.PoweredOn:
				g.printf("Powered on VM %s\n", r.VM)
			case vmware.AlreadyOn:
				g.printf("VM %s is already powered on\n", r.VM)
			}
		}
		return err
	})
}

func vmwareAutostartCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "autostart",
		Usage: "make VMs start (or not) when their host starts",
		Description: "Host autostart powers VMs on when their ESXi host boots. enable also turns on\n" +
			"the host's autostart when it is off, and says so.\n\n" +
			"   storagegrid vmware autostart enable --start-order 1 DC1-ADM1\n" +
			"   storagegrid vmware autostart status --host esx01.example",
		Subcommands: []*cli.Command{
			vmwareAutostartEnableCommand(g),
			vmwareAutostartDisableCommand(g),
			vmwareAutostartStatusCommand(g),
		},
	}
}

type vmwareAutostartEnableOptions struct {
	conn vmwareConnOptions
	vms  []string
	opts vmware.AutostartOptions
}

func vmwareAutostartEnableCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "enable",
		Usage:     "power VMs on when their host starts",
		ArgsUsage: "VM...",
		Description: "Sets each VM to power on with its host, and turns on the host's autostart\n" +
			"when it is off. With --start-order N the VMs take places N, N+1, ... in the\n" +
			"order given (VMs already at those places move down); without it a VM keeps\n" +
			"its place, or starts in any order after the numbered ones. Without\n" +
			"--start-delay the host's default delay applies.\n\n" +
			"   storagegrid vmware autostart enable --start-order 1 --start-delay 2m \\\n" +
			"       --wait-for-heartbeat DC1-ADM1 DC1-S1 DC1-S2",
		Flags: append(vmwareConnFlags(),
			&cli.DurationFlag{Name: "start-delay", Usage: "wait `D` (e.g. 90s, 2m) after starting each VM before the next", DefaultText: "the host's default"},
			&cli.IntFlag{Name: "start-order", Usage: "start the first VM at place `N` (1 = first) in the host's sequence", DefaultText: "keep its place, else any order"},
			&cli.BoolFlag{Name: "wait-for-heartbeat", Usage: "start the next VM only once VMware Tools in this one report a heartbeat"},
		),
		Action: func(c *cli.Context) error {
			vms, err := needVMs(c)
			if err != nil {
				return err
			}
			o := vmwareAutostartEnableOptions{conn: vmwareConnFromFlags(c), vms: vms,
				opts: vmware.AutostartOptions{StartDelay: -1, WaitForHeartbeat: c.Bool("wait-for-heartbeat")}}
			if c.IsSet("start-delay") {
				d := c.Duration("start-delay")
				if d < 0 || d%time.Second != 0 || d > 24*time.Hour {
					return fail.Usagef("--start-delay %s: want whole seconds from 0s to 24h", d)
				}
				o.opts.StartDelay = d
			}
			if c.IsSet("start-order") {
				if o.opts.StartOrder = c.Int("start-order"); o.opts.StartOrder < 1 {
					return fail.Usagef("--start-order %d: places start at 1", o.opts.StartOrder)
				}
			}
			return runVMwareAutostartEnable(c, g, o)
		},
	}
}

func runVMwareAutostartEnable(c *cli.Context, g *globals, o vmwareAutostartEnableOptions) error {
	return withVMware(c, g, o.conn, func(client *vmware.Client) error {
		ch, err := client.EnableAutostart(c.Context, o.vms, o.opts)
		printAutostartChange(g, ch)
		return err
	})
}

type vmwareAutostartDisableOptions struct {
	conn vmwareConnOptions
	vms  []string
}

func vmwareAutostartDisableCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "disable",
		Usage:     "stop VMs from powering on with their host",
		ArgsUsage: "VM...",
		Description: "Takes each VM out of its host's start sequence. The host's own autostart\n" +
			"setting is left as it is, since other VMs may rely on it.\n\n" +
			"   storagegrid vmware autostart disable DC1-S3",
		Flags: vmwareConnFlags(),
		Action: func(c *cli.Context) error {
			vms, err := needVMs(c)
			if err != nil {
				return err
			}
			return runVMwareAutostartDisable(c, g, vmwareAutostartDisableOptions{conn: vmwareConnFromFlags(c), vms: vms})
		},
	}
}

func runVMwareAutostartDisable(c *cli.Context, g *globals, o vmwareAutostartDisableOptions) error {
	return withVMware(c, g, o.conn, func(client *vmware.Client) error {
		ch, err := client.DisableAutostart(c.Context, o.vms)
		printAutostartChange(g, ch)
		return err
	})
}

// printAutostartChange reports what enable or disable did (ch may be nil
// when nothing was done).
func printAutostartChange(g *globals, ch *vmware.AutostartChange) {
	if ch == nil {
		return
	}
	if g.jsonOutput() {
		_ = g.printJSON(ch)
		return
	}
	for _, h := range ch.HostsEnabled {
		g.printf("Turned on autostart on host %s (it was off)\n", h)
	}
	for _, v := range ch.VMs {
		switch {
		case v.Starts() && v.Changed:
			g.printf("VM %s will start with host %s (%s)\n", v.VM, v.Host, startDetails(v.VMAutostart))
		case v.Starts():
			g.printf("VM %s already starts with host %s (%s)\n", v.VM, v.Host, startDetails(v.VMAutostart))
		case v.Changed:
			g.printf("VM %s will no longer start with host %s\n", v.VM, v.Host)
		default:
			g.printf("VM %s was not set to start with host %s\n", v.VM, v.Host)
		}
	}
}

func startDetails(v vmware.VMAutostart) string {
	d := []string{"order " + orderText(v), "delay " + delayText(v.StartDelay)}
	if v.WaitForHeartbeat == "yes" {
		d = append(d, "waits for heartbeat")
	}
	return strings.Join(d, ", ")
}

func orderText(v vmware.VMAutostart) string {
	switch {
	case !v.Starts():
		return "-"
	case v.StartOrder < 0:
		return "any"
	}
	return fmt.Sprint(v.StartOrder)
}

func delayText(seconds int) string {
	if seconds < 0 {
		return "host default"
	}
	return (time.Duration(seconds) * time.Second).String()
}

// defaultText shows vSphere's "systemDefault" as the host default it is.
func defaultText(s string) string {
	if s == "systemDefault" || s == "" {
		return "default"
	}
	return s
}

type vmwareAutostartStatusOptions struct {
	conn vmwareConnOptions
	host string
}

func vmwareAutostartStatusCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show hosts' autostart settings and their VMs' places",
		Description: "Lists, per host, whether autostart is on and its defaults, then its VMs in\n" +
			"start order: start action, place, delay, stop action and whether the host\n" +
			"waits for a heartbeat. Every host unless --host is given.\n\n" +
			"   storagegrid --output json vmware autostart status --host esx01.example",
		Flags: append(vmwareConnFlags(),
			&cli.StringFlag{Name: "host", Usage: "only the host `H` (name or inventory path)"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fail.Usagef("status takes no arguments; use --host H for one host")
			}
			return runVMwareAutostartStatus(c, g, vmwareAutostartStatusOptions{conn: vmwareConnFromFlags(c), host: c.String("host")})
		},
	}
}

func runVMwareAutostartStatus(c *cli.Context, g *globals, o vmwareAutostartStatusOptions) error {
	return withVMware(c, g, o.conn, func(client *vmware.Client) error {
		hosts, err := client.AutostartStatus(c.Context, o.host)
		if err != nil {
			return err
		}
		if g.jsonOutput() {
			return g.printJSON(hosts)
		}
		for i, h := range hosts {
			if i > 0 {
				g.printf("\n")
			}
			printHostAutostart(g, h)
		}
		return nil
	})
}

func printHostAutostart(g *globals, h vmware.HostAutostart) {
	if h.ConnectionState != "connected" {
		g.printf("Host %s: not connected (%s); autostart settings unavailable\n", h.Host, h.ConnectionState)
		return
	}
	state := "off"
	if h.Enabled {
		state = "on"
	}
	g.printf("Host %s: autostart %s (start delay %s, stop delay %s, stop action %s, wait for heartbeat %v)\n",
		h.Host, state, delayText(h.StartDelay), delayText(h.StopDelay), h.StopAction, yesNo(h.WaitForHeartbeat))
	if len(h.VMs) == 0 {
		g.printf("No VMs on this host\n")
		return
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "VM\tStart-Action\tOrder\tDelay\tStop-Action\tHeartbeat")
	for _, v := range h.VMs {
		delay := "-"
		if v.Starts() {
			delay = delayText(v.StartDelay)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", v.VM, v.StartAction, orderText(v), delay, defaultText(v.StopAction), defaultText(v.WaitForHeartbeat))
	}
	_ = w.Flush()
	g.printf("%s", b.String())
}

type vmwareCheckOptions struct {
	conn    vmwareConnOptions
	pattern string
}

func vmwareCheckCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "list grid VMs that would not come back after a host restart",
		Description: "Looks at every VM whose name matches the grid pattern (--pattern, default\n" +
			"vmware.pattern in storagegrid.toml, which defaults to \"*\") and lists those\n" +
			"that are powered off or suspended, on a disconnected host, on a host whose\n" +
			"autostart is off, or not set to start with their host. Exit 3 when any are\n" +
			"found, or when no VM matches.\n\n" +
			"   storagegrid vmware check --pattern 'DC1-*'",
		Flags: append(vmwareConnFlags(),
			&cli.StringFlag{Name: "pattern", Usage: "shell `GLOB` naming the grid-node VMs (e.g. 'DC1-*')"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fail.Usagef("check takes no arguments; use --pattern GLOB")
			}
			o := vmwareCheckOptions{conn: vmwareConnFromFlags(c), pattern: c.String("pattern")}
			if !c.IsSet("pattern") {
				s, err := g.settings()
				if err != nil {
					return err
				}
				o.pattern = s.VMware.Pattern
			}
			return runVMwareCheck(c, g, o)
		},
	}
}

func runVMwareCheck(c *cli.Context, g *globals, o vmwareCheckOptions) error {
	return withVMware(c, g, o.conn, func(client *vmware.Client) error {
		res, err := client.Check(c.Context, o.pattern)
		if res == nil {
			return err
		}
		if g.jsonOutput() {
			return jsonThen(g, res, err)
		}
		if err == nil {
			g.printf("All %d grid VMs matching %q are powered on and start with their host\n", len(res), o.pattern)
			return nil
		}
		var b strings.Builder
		w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "VM\tHost\tPower\tProblems")
		for _, r := range res {
			if len(r.Problems) > 0 {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.VM, r.Host, r.PowerState, strings.Join(r.Problems, ", "))
			}
		}
		_ = w.Flush()
		g.printf("%s", b.String())
		return err
	})
}
