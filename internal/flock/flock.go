// Package flock takes advisory whole-file locks (flock(2)) on files under a
// lock directory, one file per name, so that state-changing commands on the
// same object serialise across processes.
package flock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// Lock is a held lock. Release it with Unlock.
type Lock struct{ f *os.File }

// Acquire blocks until it holds the exclusive lock dir/name.lock, or ctx
// ends. dir is a host path, resolved under root and created if missing;
// errors name the lock as the host spells it.
func Acquire(ctx context.Context, root hostpath.Root, dir, name string) (*Lock, error) {
	path := filepath.Join(dir, name+".lock")
	if err := os.MkdirAll(root.Join(dir), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, unwrap(err))
	}
	f, err := os.OpenFile(root.Join(path), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, unwrap(err))
	}
	// Polling with LOCK_NB keeps ctx cancellation simple; locks are held
	// for seconds, so a short poll interval costs nothing.
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// unwrap drops the *fs.PathError around err, whose path is the resolved
// (sandbox) one.
func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil {
		return nil // nothing was taken
	}
	return l.f.Close()
}
