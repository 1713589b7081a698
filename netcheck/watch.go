package netcheck

import (
	"context"
	"fmt"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Change is what happened in an Event.
type Change string

// The changes.
const (
	LinkChanged Change = "link_changed" // added, or any attribute changed (state, carrier, MTU, ...)
	LinkRemoved Change = "link_removed"
	AddrAdded   Change = "address_added"
	AddrRemoved Change = "address_removed"
)

// watchBufSize absorbs bursts (a bond flapping its slaves) while the
// consumer is busy.
const watchBufSize = 64

// Event is one change the kernel announced. Link is the link's new state
// for link events; for address events it carries only Index and, when
// the link still exists, Name. Parent and master names are not resolved
// (their indexes are): an event stands alone, without a whole view.
type Event struct {
	Change Change `json:"change"`
	Link   Link   `json:"link"`
	Addr   *Addr  `json:"address,omitempty"`
}

// WatchOptions tune Watch.
type WatchOptions struct {
	Namespace *netns.NsHandle // nil: the caller's own
	// OnError receives errors the subscriptions meet while running (an
	// overrun receive buffer loses events: re-read the view). It may be
	// called from several goroutines. Nil drops them.
	OnError func(error)
}

// Watch subscribes to link and address changes and delivers them on the
// returned channel until ctx ends; the channel is then closed. Only
// changes after Watch returns are reported: read a View first for the
// current state.
func Watch(ctx context.Context, opts WatchOptions) (<-chan Event, error) {
	h, err := handle(opts.Namespace)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	links, addrs, err := subscribe(ctx, opts)
	if err != nil {
		cancel()
		h.Close()
		return nil, err
	}
	out := make(chan Event, watchBufSize)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); forwardLinks(ctx, links, out) }()
	go func() { defer wg.Done(); forwardAddrs(ctx, h, addrs, out) }()
	go func() {
		wg.Wait()
		h.Close()
		cancel()
		close(out)
	}()
	return out, nil
}

// subscribe opens the link and address subscriptions, which end with ctx.
func subscribe(ctx context.Context, opts WatchOptions) (chan netlink.LinkUpdate, chan netlink.AddrUpdate, error) {
	ns := netns.None()
	if opts.Namespace != nil {
		ns = *opts.Namespace
	}
	onErr := func(err error) {
		// Closing the subscription sockets at the end makes their
		// readers fail; that is not worth reporting.
		if ctx.Err() == nil && opts.OnError != nil {
			opts.OnError(err)
		}
	}
	links := make(chan netlink.LinkUpdate, watchBufSize)
	addrs := make(chan netlink.AddrUpdate, watchBufSize)
	if err := netlink.LinkSubscribeWithOptions(links, ctx.Done(), netlink.LinkSubscribeOptions{
		Namespace: &ns, ErrorCallback: onErr}); err != nil {
		return nil, nil, netlinkError("subscribing to link changes", err)
	}
	if err := netlink.AddrSubscribeWithOptions(addrs, ctx.Done(), netlink.AddrSubscribeOptions{
		Namespace: &ns, ErrorCallback: onErr}); err != nil {
		drain(links)
		return nil, nil, netlinkError("subscribing to address changes", err)
	}
	return links, addrs, nil
}

func forwardLinks(ctx context.Context, links <-chan netlink.LinkUpdate, out chan<- Event) {
	for u := range links {
		ev := Event{Change: LinkChanged, Link: linkFrom(u.Link)}
		if u.Header.Type == unix.RTM_DELLINK {
			ev.Change = LinkRemoved
		}
		send(ctx, out, ev)
	}
}

// forwardAddrs names each address's link through h, since address
// updates carry only the link's index.
func forwardAddrs(ctx context.Context, h *netlink.Handle, addrs <-chan netlink.AddrUpdate, out chan<- Event) {
	for u := range addrs {
		ev := Event{Change: AddrRemoved, Link: Link{Index: u.LinkIndex}}
		if u.NewAddr {
			ev.Change = AddrAdded
		}
		if l, err := h.LinkByIndex(u.LinkIndex); err == nil {
			ev.Link.Name = l.Attrs().Name
		}
		a := addrFrom(&u.LinkAddress, u.Scope)
		ev.Addr = &a
		send(ctx, out, ev)
	}
}

// send delivers ev unless the watch has ended. The forwarding loops keep
// draining netlink's channels after that, so its reader goroutines,
// which block on a full channel, can see their socket closed and exit.
func send(ctx context.Context, out chan<- Event, ev Event) {
	select {
	case out <- ev:
	case <-ctx.Done():
	}
}

func drain[T any](ch <-chan T) {
	go func() {
		for range ch {
		}
	}()
}

// String describes the event for logs, e.g. "link_changed eth0".
func (e Event) String() string {
	if e.Addr != nil {
		return fmt.Sprintf("%s %s %s", e.Change, e.Link.Name, e.Addr.Address)
	}
	return fmt.Sprintf("%s %s", e.Change, e.Link.Name)
}
