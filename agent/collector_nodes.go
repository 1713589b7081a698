package agent

import (
	"context"
	"errors"
	"io/fs"
	"os"

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

// Watch reports changes in the nodes directory through inotify. A host
// without the directory has nothing to watch; the interval still runs.
func (c *nodesCollector) Watch(ctx context.Context, changed, ready func()) error {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return err
	}
	// A non-blocking fd in an os.File goes through Go's poller, so Close
	// (on ctx end) wakes the blocked Read.
	f := os.NewFile(uintptr(fd), "inotify")
	defer f.Close()
	mask := uint32(unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_ATTRIB)
	if _, err := unix.InotifyAddWatch(fd, c.src.Root.Join(node.ConfigDir), mask); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	ready()
	go func() {
		<-ctx.Done()
		f.Close()
	}()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Read(buf); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		changed()
	}
}
