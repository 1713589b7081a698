package netcheck

import (
	"errors"
	"net"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// testNS is a fresh, anonymous network namespace owned by one test: no
// name to collide with concurrent tests, and nothing in it but lo until
// the test adds links. Closing the last handle (t.Cleanup) destroys the
// namespace and every link in it.
type testNS struct {
	t  testing.TB
	ns netns.NsHandle
	h  *netlink.Handle
}

func newNS(t testing.TB) *testNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	type result struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// netns.New moves the calling thread into the new namespace; move
		// it back, or let the runtime discard it by exiting locked.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{ns, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("creating network namespace: %v", r.err)
	}
	h, err := netlink.NewHandleAt(r.ns)
	if err != nil {
		r.ns.Close()
		t.Fatalf("netlink handle in test namespace: %v", err)
	}
	t.Cleanup(func() {
		h.Close()
		r.ns.Close()
	})
	return &testNS{t: t, ns: r.ns, h: h}
}

// handle returns a pointer to the namespace handle, as the API takes it.
func (n *testNS) handle() *netns.NsHandle { return &n.ns }

func (n *testNS) link(name string) netlink.Link {
	n.t.Helper()
	l, err := n.h.LinkByName(name)
	if err != nil {
		n.t.Fatalf("link %s: %v", name, err)
	}
	return l
}

// add creates l; a kernel built without that link type (no 8021q, no
// bonding module) skips the test, since that is the machine's limit.
func (n *testNS) add(l netlink.Link) {
	n.t.Helper()
	if err := n.h.LinkAdd(l); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			n.t.Skipf("kernel cannot create %s links: %v", l.Type(), err)
		}
		n.t.Fatalf("adding %s %s: %v", l.Type(), l.Attrs().Name, err)
	}
}

// veth creates a pair: name here, peer in other (nil: here too).
func (n *testNS) veth(name, peer string, other *testNS) {
	n.t.Helper()
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer}
	if other != nil {
		v.PeerNamespace = netlink.NsFd(int(other.ns))
	}
	n.add(v)
}

func (n *testNS) up(names ...string) {
	n.t.Helper()
	for _, name := range names {
		if err := n.h.LinkSetUp(n.link(name)); err != nil {
			n.t.Fatalf("ip link set %s up: %v", name, err)
		}
	}
}

func (n *testNS) down(name string) {
	n.t.Helper()
	if err := n.h.LinkSetDown(n.link(name)); err != nil {
		n.t.Fatalf("ip link set %s down: %v", name, err)
	}
}

func (n *testNS) mtu(name string, mtu int) {
	n.t.Helper()
	if err := n.h.LinkSetMTU(n.link(name), mtu); err != nil {
		n.t.Fatalf("ip link set %s mtu %d: %v", name, mtu, err)
	}
}

func (n *testNS) master(name, master string) {
	n.t.Helper()
	if err := n.h.LinkSetMaster(n.link(name), n.link(master)); err != nil {
		n.t.Fatalf("ip link set %s master %s: %v", name, master, err)
	}
}

func (n *testNS) addr(name, cidr string) {
	n.t.Helper()
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		n.t.Fatal(err)
	}
	if err := n.h.AddrAdd(n.link(name), a); err != nil {
		n.t.Fatalf("ip addr add %s dev %s: %v", cidr, name, err)
	}
}

func (n *testNS) route(dst, gw, dev string) {
	n.t.Helper()
	_, d, err := net.ParseCIDR(dst)
	if err != nil {
		n.t.Fatal(err)
	}
	r := &netlink.Route{Dst: d, Gw: net.ParseIP(gw), LinkIndex: n.link(dev).Attrs().Index}
	if err := n.h.RouteAdd(r); err != nil {
		n.t.Fatalf("ip route add %s via %s dev %s: %v", dst, gw, dev, err)
	}
}

func (n *testNS) view() *View {
	n.t.Helper()
	v, err := ReadViewAt(n.handle())
	if err != nil {
		n.t.Fatalf("ReadViewAt: %v", err)
	}
	return v
}
