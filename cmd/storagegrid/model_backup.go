//go:build !agentonly

package main

import (
	"context"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/model"
)

// The database's upkeep: model backup, model restore and model compact.

type modelDBOptions struct{ db string }

func dbFlag(o *modelDBOptions) cli.Flag {
	return &cli.StringFlag{Name: "db", Destination: &o.db, Usage: "database `PATH` (default model.db)"}
}

// db resolves --db or model.db.
func (g *globals) db(o *modelDBOptions) (modelDB, error) {
	s, err := g.settings()
	if err != nil {
		return modelDB{}, err
	}
	return g.modelDB(s.Model, o.db)
}

// sqliteFile resolves the database of backup and restore, which are for
// a SQLite file.
func (g *globals) sqliteFile(o *modelDBOptions, what string) (modelDB, error) {
	d, err := g.db(o)
	if err == nil {
		err = d.sqliteOnly(what)
	}
	return d, err
}

func modelBackupCommand(g *globals) *cli.Command {
	o := &modelDBOptions{}
	return &cli.Command{
		Name:      "backup",
		Usage:     "copy the model database consistently, while the server runs",
		UsageText: "storagegrid model backup [--db PATH] DEST",
		Description: "Uses SQLite's online backup: ingest goes on meanwhile, and DEST appears\n" +
			"only when complete. DEST must not exist. Example, nightly from cron:\n" +
			"   storagegrid model backup /backup/model-$(date +%F).db",
		Flags: []cli.Flag{dbFlag(o)},
		Action: func(c *cli.Context) error {
			args, err := g.exactArgs(c, 1, "one DEST")
			if err != nil {
				return err
			}
			db, err := g.sqliteFile(o, "model backup")
			if err != nil {
				return err
			}
			if err := model.Backup(c.Context, db.path, args[0]); err != nil {
				return err
			}
			g.printf("Backed up %s to %s\n", db.shown, args[0])
			return nil
		},
	}
}

func modelRestoreCommand(g *globals) *cli.Command {
	o := &modelDBOptions{}
	return &cli.Command{
		Name:      "restore",
		Usage:     "replace the model database with a verified backup",
		UsageText: "storagegrid model restore [--db PATH] BACKUP",
		Description: "Checks the backup (SQLite integrity check, schema version) before touching\n" +
			"the database, and refuses while a server runs on it. Agents resend what the\n" +
			"backup lacks from their spools. Example:\n" +
			"   systemctl stop storagegrid-model\n" +
			"   storagegrid model restore /backup/model-2024-06-10.db",
		Flags: []cli.Flag{dbFlag(o)},
		Action: func(c *cli.Context) error {
			args, err := g.exactArgs(c, 1, "one BACKUP")
			if err != nil {
				return err
			}
			db, err := g.sqliteFile(o, "model restore")
			if err != nil {
				return err
			}
			lock, err := db.lock(c.Context)
			if err != nil {
				return err
			}
			defer lock.Unlock()
			if err := model.Restore(c.Context, args[0], db.path); err != nil {
				return fail.With(fail.Invalid, err)
			}
			g.printf("Restored %s from %s\n", db.shown, args[0])
			return nil
		},
	}
}

func modelCompactCommand(g *globals) *cli.Command {
	o := &modelDBOptions{}
	return &cli.Command{
		Name:      "compact",
		Usage:     "apply the retention settings now (the server does it every model.compact_every)",
		UsageText: "storagegrid model compact [--db PATH]",
		Description: "Folds history older than model.history_retention into one baseline per\n" +
			"entity and drops roll-ups older than model.metrics_retention. Refuses while\n" +
			"a server runs on the database. Example:\n" +
			"   storagegrid model compact --db /var/lib/storagegrid/model/model.db",
		Flags:  []cli.Flag{dbFlag(o)},
		Action: func(c *cli.Context) error { return g.modelCompact(c.Context, o) },
	}
}

func (g *globals) modelCompact(ctx context.Context, o *modelDBOptions) error {
	s, err := g.settings()
	if err != nil {
		return err
	}
	db, err := g.modelDB(s.Model, o.db)
	if err != nil {
		return err
	}
	lock, err := db.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	store, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := store.Compact(ctx, time.Now(), model.RetentionFor(s.Model))
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(res)
	}
	g.printf("History before %s folded (%d changes), %d roll-ups and %d series removed\n",
		res.HistoryFloor.UTC().Format(time.RFC3339), res.ChangesFolded, res.RollupsRemoved, res.SeriesRemoved)
	return nil
}
