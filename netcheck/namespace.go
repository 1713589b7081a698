package netcheck

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrNeedRoot marks failures caused by missing privileges: entering a
// network namespace needs CAP_SYS_ADMIN, an ARP probe CAP_NET_RAW.
var ErrNeedRoot = errors.New("permission denied: run as root (sudo)")

// netlinkError wraps err with what was being done, and tells a
// permission problem apart so callers (and users) see "run as root"
// rather than a bare EPERM.
func netlinkError(what string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%s: %w (%v)", what, ErrNeedRoot, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// handle opens a netlink handle in ns, or in the caller's namespace when
// ns is nil. The handle's sockets stay in that namespace, so it can be
// used from any goroutine.
func handle(ns *netns.NsHandle) (*netlink.Handle, error) {
	h, err := InNamespace(ns, func() (*netlink.Handle, error) { return netlink.NewHandle() })
	if err != nil {
		return nil, netlinkError("opening netlink", err)
	}
	return h, nil
}

// InNamespace runs f on a thread switched into ns (nil: no switch). A
// socket opened by f belongs to ns for its whole life, whatever thread
// later uses it. f runs on its own goroutine: should restoring the
// thread's namespace fail, that goroutine exits still locked and the Go
// runtime discards the thread instead of reusing it in the wrong
// namespace.
func InNamespace[T any](ns *netns.NsHandle, f func() (T, error)) (T, error) {
	if ns == nil {
		return f()
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		var r result
		defer func() { done <- r }()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			r.err = netlinkError("reading the current network namespace", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(*ns); err != nil {
			runtime.UnlockOSThread()
			r.err = netlinkError("entering network namespace", err)
			return
		}
		r.v, r.err = f()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	r := <-done
	return r.v, r.err
}

// maxNameLen is IFNAMSIZ minus the terminating NUL.
const maxNameLen = unix.IFNAMSIZ - 1

// ValidName reports why name cannot be a Linux interface name. It is
// checked before any system call so a bad config value yields a clear
// message rather than a kernel errno.
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("empty interface name")
	case len(name) > maxNameLen:
		return fmt.Errorf("%s is not a valid interface name: longer than %d characters", name, maxNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("%s is not a valid interface name", name)
	case strings.ContainsAny(name, "/: \t\n\x00"):
		return fmt.Errorf("%q is not a valid interface name: contains '/', ':' or white space", name)
	}
	return nil
}
