package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"

	"github.com/storagegrid/storagegrid/internal/inotify"
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
// edits) and, through the runtime's own watch (the process supervisors'
// state files and process exits, or systemd's unit signals), changes of
// run state, so that they reach the model within a second instead of at
// the next interval. A host without the config directory has no nodes to
// watch; the interval still runs.
func (c *nodesCollector) Watch(ctx context.Context, changed, ready func()) error {
	in, err := inotify.New()
	if err != nil {
		return err
	}
	mask := uint32(unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_ATTRIB)
	if _, err := in.Add(c.src.Root.Join(node.ConfigDir), mask); err != nil {
		in.Close()
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	sw, ok := c.src.Runtime.(node.StateWatcher)
	if !ok {
		ready()
		return in.Run(ctx, func([]byte) error { changed(); return nil })
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	runReady := make(chan struct{})
	go func() { runErr <- sw.WatchState(ctx, changed, func() { close(runReady) }) }()
	select {
	case <-runReady:
	case err := <-runErr:
		in.Close()
		return fmt.Errorf("run state: %w", err)
	}
	ready()
	// Whichever watch ends first ends both, so that the agent knows to
	// collect at each interval again.
	cfgErr := make(chan error, 1)
	go func() { cfgErr <- in.Run(ctx, func([]byte) error { changed(); return nil }) }()
	select {
	case err = <-cfgErr:
		cancel()
		<-runErr
	case err = <-runErr:
		cancel()
		<-cfgErr
		if err != nil {
			err = fmt.Errorf("run state: %w", err)
		}
	}
	return err
}
