package agent

import (
	"context"
	"os"

	"golang.org/x/sys/unix"
)

// inotify is one inotify instance for a collector's Watch. Its fd is
// non-blocking inside an os.File, so reads go through Go's poller and
// closing it (when the watch's context ends) wakes a blocked read.
type inotify struct {
	fd int
	f  *os.File
}

func newInotify() (*inotify, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &inotify{fd: fd, f: os.NewFile(uintptr(fd), "inotify")}, nil
}

// add watches path for mask; it returns the watch descriptor.
func (n *inotify) add(path string, mask uint32) (int, error) {
	return unix.InotifyAddWatch(n.fd, path, mask)
}

// run calls onEvents with each read's events until ctx ends (nil) or a
// read or onEvents fails, then closes the instance.
func (n *inotify) run(ctx context.Context, onEvents func([]byte) error) error {
	defer n.f.Close()
	go func() {
		<-ctx.Done()
		n.f.Close()
	}()
	buf := make([]byte, 64<<10)
	for {
		k, err := n.f.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := onEvents(buf[:k]); err != nil {
			return err
		}
	}
}
