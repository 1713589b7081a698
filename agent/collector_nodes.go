package agent

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/storagegrid/storagegrid/node"
	"github.com/storagegrid/storagegrid/nodekey"
	"github.com/storagegrid/storagegrid/wire"
)

func init() { register("nodes", true, newNodes) }

// nodesCollector reports the grid nodes configured on this host: every
// key of their config file verbatim, with config and run state. It
// watches the nodes directory, so config edits arrive at once.
type nodesCollector struct {
	src Sources
	reg *node.Registry
	mgr *node.Manager // nil: no runtime given, run_state left out
}

func newNodes(src Sources) (Collector, error) {
	c := &nodesCollector{src: src, reg: node.NewRegistry(src.Root)}
	if src.Runtime != nil {
		c.mgr = node.NewManager(src.Root, src.Runtime)
	}
	return c, nil
}

func (c *nodesCollector) Collect(ctx context.Context) ([]Item, error) {
	names, _, err := c.reg.Names()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no nodes directory: a host without nodes
	}
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(names))
	for _, name := range names {
		f := map[string]string{wire.FieldConfigState: string(node.Configured)}
		if cfg, err := c.reg.Load(name); err != nil {
			f[wire.FieldConfigState] = string(node.Invalid)
		} else {
			for _, k := range cfg.Keys() {
				if !nodekey.Secret(k) { // a password (hash) never leaves the host
					f[k], _ = cfg.Get(k)
				}
			}
		}
		if c.mgr != nil {
			st, err := c.mgr.Status(ctx, name)
			if err != nil {
				return nil, err
			}
			f[wire.FieldRunState] = string(st.RunState)
		}
		out = append(out, Item{Kind: wire.KindNode, ID: name, Fields: f})
	}
	return out, nil
}

// Watch reports, through inotify, changes in the nodes directory (config
// edits) and in each node's run directory (RunDir/nodes/NAME, where the
// supervisor rewrites state.json at every phase: starting, running,
// stopping, stopped), so that a node's run state reaches the model within
// a second instead of at the next interval. A host without the config
// directory has nothing to watch; the interval still runs.
func (c *nodesCollector) Watch(ctx context.Context, changed, ready func()) error {
	in, err := newInotify()
	if err != nil {
		return err
	}
	mask := uint32(unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_ATTRIB)
	if _, err := in.add(c.src.Root.Join(node.ConfigDir), mask); err != nil {
		in.f.Close()
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	runs, err := watchRunDirs(in, c.src.Root.Join(node.RunDir+"/nodes"))
	if err != nil {
		in.f.Close()
		return err
	}
	ready()
	return in.run(ctx, func(events []byte) error {
		if newRunDir(events, runs) {
			// A node ran for the first time: watch its run directory
			// too (its state.json may already have been written).
			if _, err := watchRunDirs(in, c.src.Root.Join(node.RunDir+"/nodes")); err != nil {
				return err
			}
		}
		changed()
		return nil
	})
}

// runDirMask is what a supervisor's state writes look like: a temporary
// file renamed over state.json, or a new directory for a node's first run.
const runDirMask = uint32(unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE)

// watchRunDirs watches the directory of node run directories (creating it,
// as a node's first start would) and each run directory in it; it
// returns the watch descriptor of the directory itself.
func watchRunDirs(in *inotify, dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	wd, err := in.add(dir, runDirMask|unix.IN_ONLYDIR)
	if err != nil {
		return 0, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if e.IsDir() {
			// Adding a watch twice returns the same descriptor.
			if _, err := in.add(dir+"/"+e.Name(), runDirMask|unix.IN_ONLYDIR); err != nil && !errors.Is(err, unix.ENOENT) {
				return 0, err
			}
		}
	}
	return wd, nil
}

// newRunDir reports whether the inotify events in b include a directory
// created in the directory of run directories (watch descriptor runs).
func newRunDir(b []byte, runs int) bool {
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		if int(ev.Wd) == runs && ev.Mask&unix.IN_CREATE != 0 && ev.Mask&unix.IN_ISDIR != 0 {
			return true
		}
		b = b[unix.SizeofInotifyEvent+int(ev.Len):]
	}
	return false
}
