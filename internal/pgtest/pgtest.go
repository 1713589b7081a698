// Package pgtest gives tests PostgreSQL databases of their own, on the
// cluster STORAGEGRID_TEST_POSTGRES names (the one .ci/run starts) or,
// when it is unset, on a throwaway cluster started on first use with
// contrib/scripts/pgcluster and stopped by Main. For tests only.
package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Env names the cluster's URL (a superuser's, on database postgres).
const Env = "STORAGEGRID_TEST_POSTGRES"

var (
	once     sync.Once
	admin    string // the cluster's URL
	started  string // the directory of a cluster started here
	startErr error
)

// TB is what the helpers need of a test: testing.TB, or a testscript
// script through an adapter.
type TB interface {
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

// Main runs the tests and stops a cluster started for them. Call it from
// TestMain: os.Exit(pgtest.Main(m)).
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if started != "" {
		if out, err := exec.Command(script(), "stop", started).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping the cluster in %s: %v\n%s", started, err, out)
		}
	}
	return code
}

// Admin returns the cluster's URL, starting a cluster when none is named.
func Admin(t TB) string {
	once.Do(func() {
		if admin = os.Getenv(Env); admin != "" {
			return
		}
		dir, err := os.MkdirTemp("", "sgpg")
		if err != nil {
			startErr = err
			return
		}
		out, err := exec.Command(script(), "start", dir).Output()
		if err != nil {
			startErr = fmt.Errorf("starting a PostgreSQL cluster (%s start %s): %w", script(), dir, err)
			return
		}
		started, admin = dir, strings.TrimSpace(string(out))
	})
	if startErr != nil {
		t.Fatalf("%v; set %s to a cluster's URL, or install Debian's postgresql", startErr, Env)
	}
	return admin
}

// script is contrib/scripts/pgcluster of the module the test runs in.
func script() string {
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "contrib/scripts/pgcluster")
		}
	}
	return "contrib/scripts/pgcluster"
}

// NewDB creates an empty database and returns its URL; it is dropped when
// the test ends.
func NewDB(t testing.TB) string {
	t.Helper()
	return DB(t, t.Name()+fmt.Sprint(os.Getpid())+t.TempDir())
}

// DB returns the URL of the database that key names, creating it empty
// the first time (and dropping it when the test that created it ends): a
// test that reopens "the same store" passes the same key.
func DB(t TB, key string) string {
	sum := sha256.Sum256([]byte(key))
	name := "t_" + hex.EncodeToString(sum[:10])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, Admin(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		t.Cleanup(func() {
			c, err := pgx.Connect(ctx, admin)
			if err != nil {
				t.Errorf("pgtest: dropping %s: %v", name, err)
				return
			}
			defer c.Close(ctx)
			if _, err := c.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
				t.Errorf("pgtest: dropping %s: %v", name, err)
			}
		})
	}
	return withDatabase(admin, name)
}

// withDatabase is the URL u with its database replaced.
func withDatabase(u, name string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + name
	return p.String()
}
