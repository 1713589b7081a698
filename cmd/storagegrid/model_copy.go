//go:build !agentonly

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/model"
)

type modelCopyOptions struct {
	from, to, passwordFile string
}

func modelCopyCommand(g *globals) *cli.Command {
	o := &modelCopyOptions{}
	return &cli.Command{
		Name:      "copy",
		Usage:     "copy the model from its SQLite file into a PostgreSQL database",
		UsageText: "storagegrid model copy --from sqlite:PATH --to postgres://USER@HOST/DB [--password-file FILE]",
		Description: "For a model that outgrew one machine: every table is copied, history and\n" +
			"metrics included, into an empty PostgreSQL database in one transaction; then\n" +
			"each table is read back from both and its rows and SHA-256 compared (and\n" +
			"printed). The SQLite file is only read; stop the server on it first (the\n" +
			"copy refuses while it runs). The password comes from --password-file\n" +
			"(default model.db_password_file, mode 0600), never from the URL. Then set\n" +
			"model.db to the URL and start the servers. Example:\n" +
			"   systemctl stop storagegrid-model\n" +
			"   storagegrid model copy --from sqlite:/var/lib/storagegrid/model/model.db \\\n" +
			"       --to postgres://storagegrid@db1.example.com/model",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Destination: &o.from, Usage: "the SQLite model, `sqlite:PATH`"},
			&cli.StringFlag{Name: "to", Destination: &o.to, Usage: "the PostgreSQL database, `URL` (postgres://...) without password"},
			&cli.StringFlag{Name: "password-file", Destination: &o.passwordFile, Usage: "`FILE` holding the PostgreSQL password (default model.db_password_file)"},
		},
		Action: func(c *cli.Context) error { return g.modelCopy(c.Context, o) },
	}
}

// copyReport is model copy's JSON answer.
type copyReport struct {
	From   string              `json:"from"`
	To     string              `json:"to"`
	Tables []model.CopiedTable `json:"tables"`
}

func (g *globals) modelCopy(ctx context.Context, o *modelCopyOptions) error {
	path, ok := strings.CutPrefix(o.from, "sqlite:")
	if !ok || path == "" {
		return fail.Usagef("--from: give the SQLite model as sqlite:PATH")
	}
	if o.to == "" {
		return fail.Usagef("--to: give the PostgreSQL database as postgres://USER@HOST/DB")
	}
	s, err := g.settings()
	if err != nil {
		return err
	}
	from, err := g.modelDB(s.Model, path)
	if err != nil {
		return err
	}
	if from.url != "" {
		return fail.Usagef("--from: give the SQLite model as sqlite:PATH")
	}
	m := s.Model
	if o.passwordFile != "" {
		m.DBPasswordFile = "" // taken as typed below
	}
	to, err := g.modelDB(m, o.to)
	if err != nil {
		return err
	}
	if to.url == "" {
		return fail.Usagef("--to: give the PostgreSQL database as postgres://USER@HOST/DB")
	}
	if o.passwordFile != "" {
		to.passwordFile = o.passwordFile
	}
	if _, err := os.Stat(from.path); err != nil { // before connecting anywhere
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("model copy: %s: %w", from.shown, err)
	}
	lock, err := from.lock(ctx) // no server may write the file meanwhile
	if err != nil {
		return err
	}
	defer lock.Unlock()
	store, err := to.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	tables, err := model.CopySQLite(ctx, from.path, store.(*model.PGStore))
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(copyReport{From: from.shown, To: to.shown, Tables: tables})
	}
	g.printf("Copied %s to %s\n", from.shown, to.shown)
	g.printf("  %-14s %10s  %s\n", "TABLE", "ROWS", "SHA256")
	for _, t := range tables {
		g.printf("  %-14s %10d  %s\n", t.Table, t.Rows, t.Checksum)
	}
	return nil
}
