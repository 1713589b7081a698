package agent

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/storagegrid/storagegrid/internal/sdnotify"
	"github.com/storagegrid/storagegrid/wire"
)

// testNamespace creates a network namespace of the test's own, with a
// veth pair in it, and returns it; the caller's thread stays where it was.
func testNamespace(t *testing.T) netns.NsHandle {
	t.Helper()
	ns := newNetns(t)
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "sg-a", MTU: 9000}, PeerName: "sg-b"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"sg-a", "sg-b"} {
		l, _ := h.LinkByName(n)
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := netlink.ParseAddr("10.99.0.1/24")
	l, _ := h.LinkByName("sg-a")
	if err := h.AddrAdd(l, a); err != nil {
		t.Fatal(err)
	}
	return ns
}

func TestNetworkCollectorInNamespace(t *testing.T) {
	ns := testNamespace(t)
	items, err := networkCollector{Sources{Netns: &ns}}.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Item{}
	for _, it := range items {
		byID[string(it.Kind)+" "+it.ID] = it
	}
	if f := byID["link sg-a"].Fields; f["type"] != "veth" || f["mtu"] != "9000" || f["admin_state"] != "up" {
		t.Fatalf("link sg-a: %+v", f)
	}
	if f := byID["address sg-a/10.99.0.1/24"].Fields; f["link"] != "sg-a" || f["family"] != "inet" {
		t.Fatalf("address: %+v (items %v)", f, byID)
	}
	if f := byID["route 254/10.99.0.0/24/0/sg-a/-"].Fields; f["link"] != "sg-a" {
		t.Fatalf("route: %+v", f)
	}
}

// TestLinkDownReachesSpoolWithin2s runs the agent on a test namespace and
// sets a link down: the change must be spooled within two seconds,
// although the collection interval is a minute.
func TestLinkDownReachesSpoolWithin2s(t *testing.T) {
	ns := testNamespace(t)
	a, err := New(Config{Host: "h1", Sources: Sources{Root: fixture(t).Root, Netns: &ns}, Interval: time.Minute,
		SpoolDir: t.TempDir(), SpoolMax: 1 << 30, Enable: []string{"network"},
		Disable: []string{"cpu", "memory", "loadavg", "diskstats", "netdev", "hwmon", "blockdev", "nodes"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx, sdnotify.Notifier{}) }()
	// The agent stops before its spool directory is removed.
	defer func() {
		cancel()
		if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	// Run subscribes before its snapshot, so once the snapshot is spooled
	// every later change is seen.
	waitFor(t, func() bool { return a.spool.Stats().Records > 0 })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName("sg-b")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := h.LinkSetDown(l); err != nil {
		t.Fatal(err)
	}
	for time.Since(start) < 2*time.Second {
		if downSpooled(t, a) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("link down not spooled within 2s")
}

func downSpooled(t *testing.T, a *Agent) bool {
	recs, err := a.spool.Pending(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		var e wire.Event
		json.Unmarshal(r.Data, &e)
		if e.Op == wire.OpChanged && e.Kind == wire.KindLink && e.ID == "sg-b" && e.Fields["admin_state"] == "down" {
			return true
		}
	}
	return false
}

// Routes to one destination with one metric out of several links (IPv6
// keeps them apart: fe80::/64 on every interface) are several entities,
// each with its link, the same ones at every collection: no route whose
// link flips between them.
func TestNetworkCollectorDuplicateDestinationRoutes(t *testing.T) {
	ns := testNamespace(t)
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	_, dst, _ := net.ParseCIDR("2001:db8:5::/64")
	for _, name := range []string{"sg-a", "sg-b"} {
		l, err := h.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		// Appended (NLM_F_APPEND), as the kernel adds fe80::/64 per link:
		// an exclusive add refuses a second route of the same metric.
		if err := h.RouteAppend(&netlink.Route{Dst: dst, LinkIndex: l.Attrs().Index, Priority: 1024}); err != nil {
			t.Fatalf("route via %s: %v", name, err)
		}
	}
	var first map[string]string
	for round := 0; round < 5; round++ {
		items, err := networkCollector{Sources{Netns: &ns}}.Collect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{} // id -> link
		seen := map[string]bool{}
		for _, it := range items {
			key := string(it.Kind) + " " + it.ID
			if seen[key] {
				t.Fatalf("round %d: two items are %s", round, key)
			}
			seen[key] = true
			if it.Kind == wire.KindRoute && it.Fields["dst"] == "2001:db8:5::/64" {
				got[it.ID] = it.Fields["link"]
			}
		}
		if len(got) != 2 || got["254/2001:db8:5::/64/1024/sg-a/-"] != "sg-a" || got["254/2001:db8:5::/64/1024/sg-b/-"] != "sg-b" {
			t.Fatalf("round %d: routes to 2001:db8:5::/64: %v", round, got)
		}
		if first == nil {
			first = got
		} else if !maps.Equal(first, got) {
			t.Fatalf("round %d: %v, first %v", round, got, first)
		}
	}
}
