package model

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"modernc.org/sqlite"

	"github.com/storagegrid/storagegrid/internal/atomicfile"
)

// backuper is the part of modernc's connection that runs SQLite's online
// backup API.
type backuper interface {
	NewBackup(dstURI string) (*sqlite.Backup, error)
}

// Backup writes a consistent copy of the store at dbPath to dest with
// SQLite's online backup API; the model server may keep ingesting
// meanwhile. dest appears atomically and must not exist yet.
func Backup(ctx context.Context, dbPath, dest string) error {
	if err := VerifyStore(ctx, dbPath, false); err != nil {
		return err
	}
	db, err := openDB(dbPath, "mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	return copyDB(ctx, db, dest)
}

// copyDB copies the database behind db to dest through a temporary file
// in dest's directory, then renames it into place.
func copyDB(ctx context.Context, db *sql.DB, dest string) error {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("backup %s: already exists", dest)
	}
	tmp := filepath.Join(filepath.Dir(dest), "."+filepath.Base(dest)+".partial")
	os.Remove(tmp)
	defer os.Remove(tmp)
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup %s: %w", dest, err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		b, ok := dc.(backuper)
		if !ok {
			return errors.New("the SQLite driver has no online backup")
		}
		bk, err := b.NewBackup(tmp)
		if err != nil {
			return err
		}
		// One step copies everything under one read transaction: a
		// consistent snapshot, and with WAL the writer is not blocked.
		if _, err := bk.Step(-1); err != nil {
			bk.Finish()
			return err
		}
		return bk.Finish()
	})
	if err != nil {
		return fmt.Errorf("backup %s: %w", dest, err)
	}
	if err := fsyncFile(tmp); err != nil {
		return fmt.Errorf("backup %s: %w", dest, err)
	}
	if err := os.Link(tmp, dest); err != nil {
		return fmt.Errorf("backup %s: %w", dest, err)
	}
	return atomicfile.SyncDir(filepath.Dir(dest))
}

func fsyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// VerifyStore opens a model store (or a backup of one) read-only and
// checks that it is one: the schema version and, when full is set,
// SQLite's integrity check over every page.
func VerifyStore(ctx context.Context, path string, full bool) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("model store: %w", err)
	}
	db, err := openDB(path, "mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema'`).Scan(&v); err != nil {
		return fmt.Errorf("%s: not a model store: %w", path, err)
	}
	if v != fmt.Sprint(schemaVersion) {
		return fmt.Errorf("%s: schema version %s, this program reads %d", path, v, schemaVersion)
	}
	if !full {
		return nil
	}
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil {
		return fmt.Errorf("%s: integrity check: %w", path, err)
	}
	if check != "ok" {
		return fmt.Errorf("%s: integrity check failed: %s", path, check)
	}
	return nil
}

// Restore replaces the store at dbPath with the backup at src, after
// verifying the backup. The model server must not be running on dbPath;
// the caller holds its lock.
func Restore(ctx context.Context, src, dbPath string) error {
	if err := VerifyStore(ctx, src, true); err != nil {
		return fmt.Errorf("restore from %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o750); err != nil {
		return fmt.Errorf("restore %s: %w", dbPath, err)
	}
	db, err := openDB(src, "mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	staged := dbPath + ".restore"
	os.Remove(staged)
	if err := copyDB(ctx, db, staged); err != nil {
		return fmt.Errorf("restore %s: %w", dbPath, err)
	}
	defer os.Remove(staged)
	// A write-ahead log left by the old database would be replayed into
	// the restored one: it must go first.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restore %s: %w", dbPath, err)
		}
	}
	if err := os.Rename(staged, dbPath); err != nil {
		return fmt.Errorf("restore %s: %w", dbPath, err)
	}
	return atomicfile.SyncDir(filepath.Dir(dbPath))
}
