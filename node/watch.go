package node

import (
	"context"
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/inotify"
)

// StateWatcher is a Runtime that says when a node's run state may have
// changed, so that the agent reports it at once instead of at its next
// collection interval.
type StateWatcher interface {
	// WatchState calls changed after each possible change of any node's
	// run state until ctx ends (then it returns nil); ready is called
	// once the watch is in place.
	WatchState(ctx context.Context, changed, ready func()) error
}

var _ StateWatcher = (*Process)(nil)

// runDirMask is what a supervisor's state writes look like: a temporary
// file renamed over state.json, or a new directory for a node's first run.
const runDirMask = uint32(unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE)

// WatchState watches the supervisors' state files (every phase a
// supervisor goes through is a rename over state.json) and, through
// pidfds, the supervisor and payload processes themselves: a supervisor
// killed with SIGKILL writes nothing, yet its node turns Orphaned or
// Not-Running that moment.
func (p *Process) WatchState(ctx context.Context, changed, ready func()) error {
	in, err := inotify.New()
	if err != nil {
		return err
	}
	dir := p.cfg.Root.Join(RunDir + "/nodes")
	runs, err := watchRunDirs(in, dir)
	if err != nil {
		in.Close()
		return err
	}
	exits := newExitWatch(changed)
	defer exits.close()
	exits.sync(p.cfg.Root, dir)
	ready()
	return in.Run(ctx, func(events []byte) error {
		if inotify.Created(events, runs) {
			// A node ran for the first time: watch its run directory
			// too (its state.json may already have been written).
			if _, err := watchRunDirs(in, dir); err != nil {
				return err
			}
		}
		exits.sync(p.cfg.Root, dir)
		changed()
		return nil
	})
}

// watchRunDirs watches the directory of node run directories (creating it,
// as a node's first start would) and each run directory in it; it
// returns the watch descriptor of the directory itself.
func watchRunDirs(in *inotify.Instance, dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	wd, err := in.Add(dir, runDirMask|unix.IN_ONLYDIR)
	if err != nil {
		return 0, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if e.IsDir() {
			if _, err := in.Add(dir+"/"+e.Name(), runDirMask|unix.IN_ONLYDIR); err != nil && !errors.Is(err, unix.ENOENT) {
				return 0, err
			}
		}
	}
	return wd, nil
}

// exitWatch holds a pidfd for each live supervisor and payload named by a
// run record and calls changed when one of them ends. A pidfd turns
// readable when its process exits, which Go's poller waits for without a
// thread or a timer.
type exitWatch struct {
	changed func()
	mu      sync.Mutex
	fds     map[proc]*os.File
}

func newExitWatch(changed func()) *exitWatch {
	return &exitWatch{changed: changed, fds: map[proc]*os.File{}}
}

// sync watches the live processes of every run record under dir and drops
// the watches of processes no record names any more.
func (w *exitWatch) sync(root hostpath.Root, dir string) {
	want := map[proc]bool{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		rec, ok, err := readRecord(root, e.Name())
		if err != nil || !ok {
			continue
		}
		for _, p := range []proc{rec.Supervisor, rec.Payload} {
			if p.PID > 0 {
				want[p] = true
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for p, f := range w.fds {
		if !want[p] {
			f.Close()
			delete(w.fds, p)
		}
	}
	for p := range want {
		if _, ok := w.fds[p]; !ok {
			w.watch(p)
		}
	}
}

// watch opens a pidfd for p. The identity check after the open makes sure
// the pidfd is p's and not a later process's with the same PID; one that
// has already ended is not watched (its state change is already visible).
func (w *exitWatch) watch(p proc) {
	fd, err := unix.PidfdOpen(p.PID, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	if !p.alive() {
		unix.Close(fd)
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return
	}
	w.fds[p] = f
	go func() {
		waited := false
		// Read returns once the callback says done: the first call
		// asks to wait for readability, the second one is the exit.
		err := rc.Read(func(uintptr) bool {
			done := waited
			waited = true
			return done
		})
		if err != nil {
			return // closed by sync or close: no longer wanted
		}
		w.mu.Lock()
		mine := w.fds[p] == f
		if mine {
			delete(w.fds, p)
			f.Close()
		}
		w.mu.Unlock()
		if mine { // not dropped in the meantime by sync or close
			w.changed()
		}
	}()
}

func (w *exitWatch) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for p, f := range w.fds {
		f.Close()
		delete(w.fds, p)
	}
}
