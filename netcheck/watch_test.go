package netcheck

import (
	"context"
	"testing"
	"time"
)

// next waits up to a second for an event matching ok, the latency the
// agent promises for interface changes.
func next(t *testing.T, events <-chan Event, what string, ok func(Event) bool) Event {
	t.Helper()
	deadline := time.After(time.Second)
	for {
		select {
		case ev, open := <-events:
			if !open {
				t.Fatalf("event channel closed while waiting for %s", what)
			}
			if ok(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s within a second", what)
		}
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	n := newNS(t)
	n.veth("w0", "w0p", nil)
	n.up("w0", "w0p")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var watchErrs []error
	events, err := Watch(ctx, WatchOptions{Namespace: n.handle(), OnError: func(err error) { watchErrs = append(watchErrs, err) }})
	if err != nil {
		t.Fatal(err)
	}

	n.down("w0")
	ev := next(t, events, "w0 going down", func(e Event) bool { return e.Change == LinkChanged && e.Link.Name == "w0" && !e.Link.AdminUp })
	if ev.Link.Type != Veth || ev.Link.Index != n.link("w0").Attrs().Index {
		t.Errorf("down event carries %+v", ev.Link)
	}

	n.mtu("w0", 4000)
	next(t, events, "w0 MTU 4000", func(e Event) bool { return e.Change == LinkChanged && e.Link.Name == "w0" && e.Link.MTU == 4000 })

	n.addr("w0p", "10.66.0.1/24")
	ev = next(t, events, "address added", func(e Event) bool { return e.Change == AddrAdded })
	if ev.Link.Name != "w0p" || ev.Addr.Address.String() != "10.66.0.1/24" || ev.String() != "address_added w0p 10.66.0.1/24" {
		t.Errorf("address event = %+v (%s)", ev, ev)
	}

	if err := n.h.LinkDel(n.link("w0")); err != nil {
		t.Fatal(err)
	}
	// The address goes with its link; the two subscriptions may deliver
	// either event first.
	linkGone, addrGone := false, false
	next(t, events, "w0 and its peer's address removed", func(e Event) bool {
		linkGone = linkGone || (e.Change == LinkRemoved && e.Link.Name == "w0")
		addrGone = addrGone || (e.Change == AddrRemoved && e.Addr.Address.String() == "10.66.0.1/24")
		return linkGone && addrGone
	})

	cancel()
	deadline := time.After(time.Second)
	for open := true; open; {
		select {
		case _, open = <-events:
		case <-deadline:
			t.Fatal("event channel still open a second after cancel")
		}
	}
	if len(watchErrs) != 0 {
		t.Errorf("errors reported while watching (or for the shutdown itself): %v", watchErrs)
	}
}
