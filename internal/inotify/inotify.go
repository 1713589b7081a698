// Package inotify is a small wrapper around one Linux inotify instance for
// the watches that replace polling: the agent's collectors and the
// process runtime's run-state files.
package inotify

import (
	"context"
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Instance is one inotify instance. Its fd is non-blocking inside an
// os.File, so reads go through Go's poller and closing it (when Run's
// context ends) wakes a blocked read.
type Instance struct {
	fd int
	f  *os.File
}

// New opens an instance; Run or Close releases it.
func New() (*Instance, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &Instance{fd: fd, f: os.NewFile(uintptr(fd), "inotify")}, nil
}

// Add watches path for mask; it returns the watch descriptor. Adding a
// path twice returns the same descriptor.
func (n *Instance) Add(path string, mask uint32) (int, error) {
	return unix.InotifyAddWatch(n.fd, path, mask)
}

// Close releases the instance without running it.
func (n *Instance) Close() error { return n.f.Close() }

// Run calls onEvents with each read's events until ctx ends (nil) or a
// read or onEvents fails, then closes the instance.
func (n *Instance) Run(ctx context.Context, onEvents func([]byte) error) error {
	defer n.f.Close()
	go func() {
		<-ctx.Done()
		n.f.Close()
	}()
	buf := make([]byte, 64<<10)
	for {
		k, err := n.f.Read(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
		if err := onEvents(buf[:k]); err != nil {
			return err
		}
	}
}

// Created reports whether the events in b include a directory created in
// the directory watched as wd.
func Created(b []byte, wd int) bool {
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		if int(ev.Wd) == wd && ev.Mask&unix.IN_CREATE != 0 && ev.Mask&unix.IN_ISDIR != 0 {
			return true
		}
		b = b[unix.SizeofInotifyEvent+int(ev.Len):]
	}
	return false
}
