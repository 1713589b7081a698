//go:build !agentonly

package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/archive"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/secretfile"
)

// The archive commands, one file each: archive_recover.go,
// archive_console.go (cancel, object-lost), archive_tsm.go,
// archive_journal.go and archive_adesim.go. This file holds what they
// share.

func init() {
	register(40, archiveCommand)
}

func archiveCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "archive",
		Usage: "recover objects an Archive Node can no longer retrieve from tape",
		Description: "Automates the runbook for permanently unavailable archived objects: find failed\n" +
			"retrievals (ARCE ARUN/GERR) in the audit logs, confirm them in TSM, cancel the\n" +
			"retrievals and declare the objects lost through the ARC service's ADE console.\n\n" +
			"   storagegrid archive recover --node-id 13959984 --verify-tsm\n" +
			"   storagegrid archive tsm-check 498D8A1F681F05B3\n" +
			"   storagegrid archive cancel 498D8A1F681F05B3",
		Subcommands: []*cli.Command{
			archiveRecoverCommand(g),
			archiveCancelCommand(g),
			archiveObjectLostCommand(g),
			archiveTSMCheckCommand(g),
			archiveJournalCommand(g),
			archiveADESimCommand(g),
		},
	}
}

// consoleOptions are the flags of every command that talks to the ADE console.
type consoleOptions struct {
	ade            string
	connectTimeout time.Duration
	timeout        time.Duration
}

func consoleFlags(o *consoleOptions) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ade", Destination: &o.ade,
			Usage: "ADE console `HOST:PORT` (default: archive.ade in storagegrid.toml, 127.0.0.1:1409)"},
		&cli.DurationFlag{Name: "connect-timeout", Value: 10 * time.Second, Destination: &o.connectTimeout,
			Usage: "give up connecting (and waiting for the first prompt) after `DURATION`"},
		&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Destination: &o.timeout,
			Usage: "give up on a command's reply after `DURATION`"},
	}
}

func (o *consoleOptions) resolve(g *globals) (archive.ConsoleOptions, error) {
	s, err := g.settings()
	if err != nil {
		return archive.ConsoleOptions{}, err
	}
	addr := o.ade
	if addr == "" {
		addr = s.Archive.ADE
	}
	if o.connectTimeout <= 0 || o.timeout <= 0 {
		return archive.ConsoleOptions{}, fail.Usagef("--connect-timeout and --timeout must be positive")
	}
	prompt, err := regexp.Compile(s.Archive.PromptPattern)
	if err != nil {
		return archive.ConsoleOptions{}, fail.Usagef("archive.prompt_pattern: %v", err)
	}
	return archive.ConsoleOptions{Addr: addr, Prompt: prompt, ConnectTimeout: o.connectTimeout, CommandTimeout: o.timeout}, nil
}

// executor runs node nodeID's plans, journaled in j, over console
// sessions dialled with co.
func executor(nodeID string, j *archive.Journal, co archive.ConsoleOptions) *archive.Executor {
	dial := func(ctx context.Context) (archive.Session, error) { return archive.Dial(ctx, co) }
	return &archive.Executor{NodeID: nodeID, Journal: j, Dial: dial}
}

// cbidArgs parses the positional CBIDs; nothing is sent when one is bad.
func cbidArgs(c *cli.Context) ([]archive.CBID, error) {
	if c.NArg() == 0 {
		return nil, fail.Usagef("no CBID given (see '%s --help')", c.Command.HelpName)
	}
	ids, err := archive.ParseCBIDs(c.Args().Slice())
	if err != nil {
		return nil, fail.Usagef("%v; nothing sent", err)
	}
	return ids, nil
}

// cbidFlag parses the CBIDs given to the repeatable flag name.
func cbidFlag(name string, v *cli.StringSlice) ([]archive.CBID, error) {
	ids, err := archive.ParseCBIDs(v.Value())
	if err != nil {
		return nil, fail.Usagef("--%s: %v", name, err)
	}
	return ids, nil
}

func nodeIDFlag(dst *string) *cli.StringFlag {
	return &cli.StringFlag{Name: "node-id", Destination: dst,
		Usage: "the Archive Node's `ID` (audit field ANID; Grid Manager: Archive Node > ARC > Target > Overview)"}
}

// parseNodeID checks --node-id. urfave's Required would report a missing
// flag as a plain failure (exit 1), so it is checked here as a usage error.
func parseNodeID(s string) (string, error) {
	if s == "" {
		return "", fail.Usagef("--node-id is required: the Archive Node's ID, e.g. --node-id 13959984")
	}
	id, err := archive.ParseNodeID(s)
	if err != nil {
		return "", fail.Usagef("--node-id: %v", err)
	}
	return id, nil
}

// openJournal opens node nodeID's recovery journal: for writing under
// the node's lock, or read-only (dry runs, listings) without a lock and
// creating nothing.
func openJournal(ctx context.Context, g *globals, nodeID string, readOnly bool) (*archive.Journal, error) {
	if readOnly {
		return archive.LoadNodeJournal(g.root, nodeID)
	}
	return archive.OpenNodeJournal(ctx, g.root, nodeID)
}

// newTSM makes the dsmadmc client from archive.dsmadmc.
func newTSM(g *globals) (*archive.TSM, error) {
	s, err := g.settings()
	if err != nil {
		return nil, err
	}
	d := s.Archive.Dsmadmc
	if d.AdminID == "" || d.PasswordFile == "" {
		return nil, fail.Usagef("set archive.dsmadmc.admin_id and archive.dsmadmc.password_file in storagegrid.toml (the ARC service's TSM administrator)")
	}
	pass, err := secretfile.FirstLine(g.root.Join(d.PasswordFile), d.PasswordFile)
	if err != nil {
		return nil, fail.With(fail.Usage, fmt.Errorf("archive.dsmadmc.password_file: %w", err))
	}
	t, err := archive.NewTSM(g.root.Join(d.Path), d.AdminID, pass)
	if err != nil {
		return nil, fail.With(fail.Usage, err)
	}
	return t, nil
}

// printResults prints a run's per-object outcomes (text) or the summary (JSON).
func printResults(g *globals, sum archive.Summary) error {
	if g.jsonOutput() {
		return g.printJSON(sum)
	}
	for _, r := range sum.Results {
		g.printf("%s\n", resultLine(r))
	}
	return nil
}

func resultLine(r archive.Result) string {
	var parts []string
	if r.Cancelled != nil {
		parts = append(parts, requests(*r.Cancelled))
	}
	switch r.Outcome {
	case archive.OutLost:
		parts = append(parts, "CLOC_LOST_ANS returned result 'SUCS'")
	case archive.OutAlreadyLost:
		parts = append(parts, "already declared lost (journal); nothing sent")
	default:
		parts = append(parts, strings.ToUpper(string(r.Outcome))+": "+r.Error)
	}
	return string(r.CBID) + ": " + strings.Join(parts, "; ")
}

func requests(n int) string { return plural(n, "request") + " cancelled" }
