//go:build !agentonly

package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/buildinfo"
	"github.com/storagegrid/storagegrid/settings"
)

// manPage writes storagegrid(8) in roff: the sections a manual page has
// (urfave/cli's own page lacks FILES, ENVIRONMENT and EXIT STATUS, and
// repeats the global options under every command), the global options
// once, and every command with its usage, description and own options.
func manPage(app *cli.App) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w(".TH STORAGEGRID 8 \"\" \"storagegrid %s\" \"System Administration\"\n", roffText(buildinfo.Version))
	w(".SH NAME\nstoragegrid \\- %s\n", roffText(app.Usage))
	w(".SH SYNOPSIS\n.B storagegrid\n[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIsubcommand\\fR] [\\fIoptions\\fR] [\\fIarguments\\fR]\n")
	w(".SH DESCRIPTION\n%s", roffParagraphs(strings.TrimSpace(appDescription)))
	w(".PP\nFlags may come before or after a command's arguments; \\fB\\-\\-\\fR ends them wherever it stands.\n")
	w(".SH GLOBAL OPTIONS\nThese apply to every command and may be given before or after it.\n")
	global := map[string]bool{}
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			global[n] = true
		}
		writeFlag(&b, f)
	}
	w(".SH COMMANDS\n")
	for _, c := range app.Commands {
		writeCommand(&b, c, "storagegrid", global)
	}
	w(".SH FILES\n")
	for _, f := range manFiles {
		w(".TP\n.I %s\n%s\n", roffText(f[0]), roffText(f[1]))
	}
	w(".PP\nPaths from these files are host paths, resolved under \\fB\\-\\-root\\fR; paths typed on the command line are taken as typed.\n")
	w(".SH ENVIRONMENT\n")
	w(".TP\n.B STORAGEGRID_ROOT\nThe default of \\fB\\-\\-root\\fR: treat this directory as the host's /.\n")
	w(".TP\n.BR NOTIFY_SOCKET \", \" WATCHDOG_USEC\nSet by systemd for \\fBagent run\\fR and \\fBmodel serve\\fR (Type=notify with a watchdog).\n")
	w(".SH EXIT STATUS\n")
	for _, e := range manExitCodes {
		w(".TP\n.B %d\n%s\n", e.code, roffText(e.what))
	}
	w(".SH EXAMPLES\n")
	for _, e := range manExamples {
		w(".PP\n%s\n.PP\n.RS\n.nf\n%s\n.fi\n.RE\n", roffText(e[0]), roffText(e[1]))
	}
	w(".SH SEE ALSO\n.BR systemctl (1),\n.BR journalctl (1),\n.BR lvm (8)\n")
	return b.String()
}

func writeCommand(b *strings.Builder, c *cli.Command, parent string, global map[string]bool) {
	if c.Hidden {
		return
	}
	name := parent + " " + c.Name
	fmt.Fprintf(b, ".SS \"%s\"\n", roffText(name))
	if c.UsageText != "" {
		fmt.Fprintf(b, ".nf\n.B %s\n.fi\n", roffText(c.UsageText))
	}
	if c.Usage != "" {
		fmt.Fprintf(b, "%s\n", roffText(strings.ToUpper(c.Usage[:1])+c.Usage[1:]+"."))
	}
	if c.Description != "" {
		b.WriteString(roffParagraphs(c.Description))
	}
	var own []cli.Flag
	for _, f := range c.Flags {
		if !slices.ContainsFunc(f.Names(), func(n string) bool { return global[n] }) {
			own = append(own, f)
		}
	}
	if len(own) > 0 {
		b.WriteString(".PP\nOptions:\n.RS\n")
		for _, f := range own {
			writeFlag(b, f)
		}
		b.WriteString(".RE\n")
	}
	for _, s := range c.Subcommands {
		writeCommand(b, s, name, global)
	}
}

func writeFlag(b *strings.Builder, f cli.Flag) {
	df, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return
	}
	placeholder, usage := unquoteUsage(df.GetUsage())
	var names []string
	for _, n := range f.Names() {
		dash := "\\-"
		if len(n) > 1 {
			dash = "\\-\\-"
		}
		names = append(names, "\\fB"+dash+roffText(n)+"\\fR")
	}
	head := strings.Join(names, ", ")
	if df.TakesValue() {
		if placeholder == "" {
			placeholder = "value"
		}
		head += " \\fI" + roffText(placeholder) + "\\fR"
	}
	fmt.Fprintf(b, ".TP\n%s\n%s", head, roffText(usage))
	def := ""
	if df.TakesValue() { // a switch's default is off
		if def = df.GetDefaultText(); def == "" {
			def = df.GetValue()
		}
	}
	if def != "" && def != `""` {
		fmt.Fprintf(b, " (default: %s)", roffText(strings.Trim(def, `"`)))
	}
	if env := df.GetEnvVars(); len(env) > 0 {
		fmt.Fprintf(b, " (environment: %s)", roffText(strings.Join(env, ", ")))
	}
	b.WriteString("\n")
}

// unquoteUsage takes the `PLACEHOLDER` out of a flag's usage, as the
// help does: "wait up to `D`" is --timeout D, "wait up to D".
func unquoteUsage(usage string) (placeholder, text string) {
	lo := strings.IndexByte(usage, '`')
	if lo < 0 {
		return "", usage
	}
	hi := strings.IndexByte(usage[lo+1:], '`')
	if hi < 0 {
		return "", usage
	}
	placeholder = usage[lo+1 : lo+1+hi]
	return placeholder, usage[:lo] + placeholder + usage[lo+2+hi:]
}

// roffParagraphs sets a help text: its indented lines (examples) as they
// are, the rest as running text.
func roffParagraphs(s string) string {
	var b strings.Builder
	inExample := false
	b.WriteString(".PP\n")
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		example := strings.HasPrefix(line, "   ")
		switch {
		case example && !inExample:
			b.WriteString(".RS\n.nf\n")
		case !example && inExample:
			b.WriteString(".fi\n.RE\n")
		}
		inExample = example
		if example {
			line = strings.TrimPrefix(line, "   ")
		}
		b.WriteString(roffText(line) + "\n")
	}
	if inExample {
		b.WriteString(".fi\n.RE\n")
	}
	return b.String()
}

// roffText escapes text for roff: backslashes, minus signs (which groff
// would set as hyphens) and a leading dot or quote, which would make the
// line a request.
func roffText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// manFiles are the files storagegrid reads and writes, as host paths.
var manFiles = [][2]string{
	{settings.DefaultPath, "Host settings (TOML): runtime, agent, host, model, archive, vmware. Optional; unknown keys are errors."},
	{"/etc/storagegrid/nodes/NAME.conf", "The grid nodes configured on this host, one file each, in NetApp's KEY = VALUE format."},
	{"/run/storagegrid/", "Run state: the supervisors' state files, locks, the model server's socket."},
	{"/var/lib/storagegrid/migrations/NAME.json", "The journal of a node migration under way; rerunning the migration resumes it."},
	{"/var/lib/storagegrid/agent/", "The agent's spool of events not yet acknowledged by the model server."},
	{"/var/lib/storagegrid/model/model.db", "The model server's SQLite database (unless model.db names a PostgreSQL database)."},
	{"/etc/storagegrid/model/tokens", "The hosts that may ingest, HOST TOKEN per line, mode 0600."},
	{"/var/log/storagegrid/nodes/NAME.log", "A node's payload output under the process runtime."},
	{"/var/local/audit/export/", "The grid's audit logs (audit.log and dated, gzipped files), read by the audit commands."},
	{"/lib/systemd/system/storagegrid-node@.service", "The unit each node runs under with the systemd runtime; storagegrid-agent.service and storagegrid-model.service run the daemons."},
}

var manExitCodes = []struct {
	code int
	what string
}{
	{0, "Success."},
	{1, "The operation failed."},
	{2, "Usage error: a bad flag, argument or input."},
	{3, "Validation found errors (node validate; with -q also warnings)."},
	{4, "Partial: some items failed while others were done (several nodes, unreadable log files)."},
	{5, "Refused for safety (ownership, a running node, a model check); --force overrides where it says so."},
	{130, "Interrupted (SIGINT or SIGTERM); the message says what state was left."},
}

var manExamples = [][2]string{
	{"Before OS patching, stop every node of the host and export one:", "sudo storagegrid node stop all\nsudo storagegrid node export DC1-S3"},
	{"Move a node to another host sharing its LUNs, checked by the model server first:", "sudo storagegrid node migrate DC1-S3 --to dc1-h2"},
	{"Find failed archive retrievals in the audit logs:", "storagegrid audit scan --type ARCE --result ARUN,GERR"},
	{"Ask whether a host may stop now:", "storagegrid model ok-to-stop dc1-h1"},
}
