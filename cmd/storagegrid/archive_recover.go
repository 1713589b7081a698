//go:build !agentonly

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/archive"
	"github.com/storagegrid/storagegrid/audit"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/when"
)

type recoverOptions struct {
	console   consoleOptions
	nodeID    string
	auditDir  string
	since     string
	verifyTSM bool
	dryRun    bool
	yes       bool
	keepGoing bool
	retry     []archive.CBID
}

// recoverReport is the JSON form of a recovery.
type recoverReport struct {
	NodeID     string           `json:"node_id"`
	AuditDir   string           `json:"audit_dir"`
	Plan       []archive.Item   `json:"plan"`
	DryRun     bool             `json:"dry_run,omitempty"`
	Run        *archive.Summary `json:"run,omitempty"`
	ManualStep string           `json:"manual_step,omitempty"`
}

// recoverDescription is the help of archive recover: the runbook it runs.
const recoverDescription = "The whole runbook for objects an Archive Node cannot retrieve:\n" +
	"  1. failed ARCE messages (RSLT ARUN or GERR) of --node-id in the audit logs, reduced to\n" +
	"     unique CBIDs;\n" +
	"  2. with --verify-tsm, only CBIDs that the TSM activity log shows with a data integrity\n" +
	"     error (see 'archive tsm-check') go on;\n" +
	"  3. on a terminal the list is shown and you are asked to confirm; otherwise --yes is\n" +
	"     required (exit 5 without it);\n" +
	"  4. for each CBID: /proc/BRTR/cancel -c CBID, then /proc/CMSI/Object_Lost CBID NODE_ID.\n\n" +
	"Every command is journaled (fsynced before it is sent and after its reply) in\n" +
	"/var/lib/storagegrid/archive/recover-NODE_ID.jsonl, so a rerun skips what succeeded and\n" +
	"never sends Object_Lost twice for a CBID that got SUCS. When an Object_Lost was sent but\n" +
	"its reply never came (connection dropped, process killed), its outcome is unknown and\n" +
	"reruns do not resend it: check the object in the Grid Manager, then either record that\n" +
	"it took effect ('archive journal --mark-lost CBID') or resend it (--retry-unknown CBID).\n" +
	"A run stops at the first unknown outcome (exit 4) unless --keep-going. Audit logs that\n" +
	"could not all be read are named, and the run ends with exit 4.\n" +
	"The remaining manual step, resetting the Request Failures count in the Grid Manager, is\n" +
	"printed at the end.\n\n" +
	"   storagegrid archive recover --node-id 13959984 --since 7d --verify-tsm\n" +
	"   storagegrid archive recover --node-id 13959984 --dry-run\n" +
	"   storagegrid archive recover --node-id 13959984 --yes     # from a script"

func archiveRecoverCommand(g *globals) *cli.Command {
	o := &recoverOptions{}
	var retry cli.StringSlice
	return &cli.Command{
		Name:        "recover",
		Usage:       "find failed retrievals in the audit logs, then cancel them and declare the objects lost",
		Description: recoverDescription,
		Flags:       recoverFlags(o, &retry),
		Action: func(c *cli.Context) error {
			var err error
			if c.NArg() > 0 {
				return fail.Usagef("recover takes no arguments (see '%s --help')", c.Command.HelpName)
			}
			if o.nodeID, err = parseNodeID(o.nodeID); err != nil {
				return err
			}
			if o.retry, err = cbidFlag("retry-unknown", &retry); err != nil {
				return err
			}
			o.yes = g.yes
			return runRecover(c.Context, g, o)
		},
	}
}

func recoverFlags(o *recoverOptions, retry *cli.StringSlice) []cli.Flag {
	return append(consoleFlags(&o.console),
		nodeIDFlag(&o.nodeID),
		&cli.StringFlag{Name: "audit-dir", Destination: &o.auditDir, DefaultText: audit.DefaultDir,
			Usage: "audit log `DIR` (audit.log, yyyy-mm-dd.txt, yyyy-mm-dd.txt.gz), as typed; the default is the host's, under --root"},
		&cli.StringFlag{Name: "since", Destination: &o.since,
			Usage: "only failures at or after `TIME` (2024-05-01, 2024-05-01T10:00:00Z, or 24h / 7d ago)"},
		&cli.BoolFlag{Name: "verify-tsm", Destination: &o.verifyTSM,
			Usage: "send only for CBIDs the TSM activity log confirms (runs dsmadmc)"},
		&cli.BoolFlag{Name: "dry-run", Destination: &o.dryRun, Usage: "show the plan; send nothing, write nothing"},
		&cli.BoolFlag{Name: "keep-going", Destination: &o.keepGoing,
			Usage: "send on after an Object_Lost whose reply never came (by default the run stops there, exit 4)"},
		&cli.StringSliceFlag{Name: "retry-unknown", Destination: retry,
			Usage: "resend Object_Lost for `CBID` although its earlier outcome is unknown (after checking it did not take effect)"},
	)
}

func runRecover(ctx context.Context, g *globals, o *recoverOptions) error {
	co, err := o.console.resolve(g)
	if err != nil {
		return err
	}
	targets, incomplete, err := failedRetrievals(ctx, g, o)
	if err != nil {
		return err
	}
	j, err := openJournal(ctx, g, o.nodeID, o.dryRun)
	if err != nil {
		return err
	}
	defer j.Close()
	rep := recoverReport{NodeID: o.nodeID, AuditDir: orFlag(o.auditDir, audit.DefaultDir), DryRun: o.dryRun,
		Plan: archive.Plan(targets, o.nodeID, j, o.retry)}
	if o.verifyTSM {
		if err := verifyPlan(ctx, g, rep.Plan); err != nil {
			return err
		}
	}
	if !g.jsonOutput() {
		printPlan(g.out(), rep)
	}
	if o.dryRun || len(rep.Plan) == 0 {
		return orIncomplete(printUnsent(g, rep), incomplete)
	}
	if err := confirmPlan(g, o, rep, co.Addr); err != nil {
		return err
	}
	ex := executor(o.nodeID, j, co)
	ex.KeepGoing = o.keepGoing
	return orIncomplete(executePlan(ctx, g, ex, rep), incomplete)
}

// orIncomplete is err, or when the run itself went well but the audit
// logs could not all be read, a partial failure (exit 4) that says so: a
// failed retrieval in an unread file was not considered.
func orIncomplete(err, incomplete error) error {
	if err != nil || incomplete == nil {
		return err
	}
	return fail.Partialf("%v: failed retrievals in the files named above were not considered", incomplete)
}

// failedRetrievals reads the node's failed retrievals from --audit-dir;
// what could not be read is warned about (by name) and, as incomplete,
// makes the run end in a partial failure.
func failedRetrievals(ctx context.Context, g *globals, o *recoverOptions) (targets []archive.Target, incomplete, err error) {
	// --audit-dir typed is read and named as typed; the default is the
	// host's, under --root, named as spelt.
	src := archive.AuditSource{Dir: o.auditDir, Warn: func(err error) { g.warnf("%v", err) }}
	if o.auditDir == "" {
		src.Dir, src.Name = g.root.Join(audit.DefaultDir), g.root.Strip
	}
	if o.since != "" {
		if src.Since, err = when.Parse(o.since, time.Now()); err != nil {
			return nil, nil, fail.Usagef("--since: %v", err)
		}
	}
	targets, err = archive.FailedRetrievals(ctx, src, o.nodeID)
	if fail.KindOf(err) == fail.Partial {
		return targets, err, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading audit logs in %s: %w", orFlag(o.auditDir, audit.DefaultDir), err)
	}
	return targets, nil, nil
}

func verifyPlan(ctx context.Context, g *globals, plan []archive.Item) error {
	t, err := newTSM(g)
	if err != nil {
		return err
	}
	return archive.Verify(ctx, t, plan, time.Now())
}

// printUnsent ends a run that sends nothing: a dry run, or nothing to do.
func printUnsent(g *globals, rep recoverReport) error {
	if g.jsonOutput() {
		return g.printJSON(rep)
	}
	if rep.DryRun {
		g.printf("Dry run: nothing sent.\n")
	}
	return nil
}

// confirmPlan asks before anything is sent, unless nothing would be.
func confirmPlan(g *globals, o *recoverOptions, rep recoverReport, addr string) error {
	sends := archive.CountSends(rep.Plan)
	if sends == 0 {
		return nil
	}
	if g.jsonOutput() && !o.yes {
		printPlan(g.stderr, rep) // stdout is for the JSON; the operator still sees the list
	}
	q := fmt.Sprintf("Send cancel and Object_Lost for %s to the ADE console at %s?", plural(sends, "object"), addr)
	return confirm(g, o.yes, q)
}

func executePlan(ctx context.Context, g *globals, ex *archive.Executor, rep recoverReport) error {
	if !g.jsonOutput() {
		ex.Progress = func(r archive.Result) { g.printf("%s\n", resultLine(r)) }
	}
	sum, runErr := ex.Execute(ctx, rep.Plan)
	rep.Run = &sum
	if sum.NeedsManualStep() {
		rep.ManualStep = archive.ManualStep
	}
	if g.jsonOutput() {
		if err := g.printJSON(rep); err != nil {
			return err
		}
	} else {
		printSummary(g, rep)
	}
	if runErr != nil {
		return runErr
	}
	return sum.Err()
}

func printPlan(w io.Writer, rep recoverReport) {
	if len(rep.Plan) == 0 {
		fmt.Fprintf(w, "No failed retrievals (ARCE with ARUN or GERR) for Archive Node %s in %s.\n", rep.NodeID, rep.AuditDir)
		return
	}
	failures := 0
	for _, it := range rep.Plan {
		failures += it.Failures
	}
	fmt.Fprintf(w, "Failed retrievals of Archive Node %s in %s: %s (%s)\n",
		rep.NodeID, rep.AuditDir, plural(len(rep.Plan), "object"), plural(failures, "ARCE message"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CBID\tVolume-ID\tResult\tFailures\tFirst-Failure\tJournal\tAction")
	for _, it := range rep.Plan {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", it.CBID, it.VolumeID, it.Result, it.Failures,
			it.Time.UTC().Format(time.RFC3339), it.Progress.Status, it.Action)
	}
	tw.Flush()
}

func printSummary(g *globals, rep recoverReport) {
	s := rep.Run
	g.printf("Summary: %d declared lost, %d already lost, %d unknown, %d failed, %d unconfirmed, %d not attempted.\n",
		s.Count(archive.OutLost), s.Count(archive.OutAlreadyLost), s.Count(archive.OutUnknown),
		s.Count(archive.OutFailed), s.Count(archive.OutUnconfirmed), s.Count(archive.OutNotAttempted))
	g.printf("Journal: %s\n", s.Journal)
	for _, r := range s.Results {
		if r.Outcome == archive.OutUnknown {
			g.printf("Outcome unknown for %s: check the object in the Grid Manager, then run\n"+
				"  storagegrid archive journal --node-id %s --mark-lost %s     # if it took effect\n"+
				"  storagegrid archive recover --node-id %s --retry-unknown %s # if it did not\n",
				r.CBID, rep.NodeID, r.CBID, rep.NodeID, r.CBID)
		}
	}
	if rep.ManualStep != "" {
		g.printf("Remaining manual step: %s\n", rep.ManualStep)
	}
}

// confirm asks on a terminal; elsewhere it requires --yes, because a
// script must not declare objects lost by accident.
func confirm(g *globals, yes bool, question string) error {
	if yes {
		return nil
	}
	f, ok := g.stdin.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return fail.Refusedf("standard input is not a terminal: nothing sent; pass --yes to send without confirmation")
	}
	return ask(g.stdin, g.stderr, question)
}

func ask(in io.Reader, out io.Writer, question string) error {
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return fail.Refusedf("not confirmed: nothing sent")
}
