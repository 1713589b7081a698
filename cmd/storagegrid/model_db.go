//go:build !agentonly

package main

import (
	"context"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/flock"
	"github.com/storagegrid/storagegrid/internal/secretfile"
	"github.com/storagegrid/storagegrid/model"
	"github.com/storagegrid/storagegrid/settings"
)

// modelDB is the model database a command works on: a SQLite file, or a
// PostgreSQL database named by URL (never with its password, which
// comes from model.db_password_file).
type modelDB struct {
	path         string // the SQLite file as this process reaches it; "" for PostgreSQL
	url          string // the PostgreSQL URL; "" for SQLite
	passwordFile string // as this process reaches it
	shown        string // as messages name it
}

// modelDB resolves --db (flag, taken as typed) or model.db (under --root).
func (g *globals) modelDB(m settings.Model, flag string) (modelDB, error) {
	db := orFlag(flag, m.DB)
	if settings.IsPostgresURL(db) {
		if err := settings.CheckDBURL(db); err != nil {
			if flag != "" {
				return modelDB{}, fail.Usagef("--db: %v", err)
			}
			return modelDB{}, fail.With(fail.Usage, err)
		}
		d := modelDB{url: db, shown: model.PGName(db)}
		if m.DBPasswordFile != "" {
			d.passwordFile = g.root.Join(m.DBPasswordFile)
		}
		return d, nil
	}
	if flag != "" {
		return modelDB{path: flag, shown: flag}, nil
	}
	return modelDB{path: g.root.Join(db), shown: db}, nil
}

// open opens the store. A SQLite file should be locked first (lock).
func (d modelDB) open(ctx context.Context) (model.Store, error) {
	if d.url == "" {
		return model.OpenSQLite(ctx, d.path)
	}
	var password string
	if d.passwordFile != "" {
		var err error
		if password, err = secretfile.FirstLine(d.passwordFile, d.passwordFile); err != nil {
			return nil, err
		}
	}
	return model.OpenPostgres(ctx, d.url, password)
}

// lock takes a SQLite file for this process alone; a PostgreSQL database
// is shared by design (its writers take turns), so nothing is taken.
func (d modelDB) lock(ctx context.Context) (*flock.Lock, error) {
	if d.url != "" {
		return nil, nil
	}
	return model.LockStore(ctx, d.path)
}

// sqliteOnly refuses what only a SQLite file has (backup, restore).
func (d modelDB) sqliteOnly(what string) error {
	if d.url != "" {
		return fail.Usagef("%s is for the SQLite model database; %s is PostgreSQL: use pg_dump or its replication", what, d.shown)
	}
	return nil
}
