package netcheck

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// fastProbe keeps the tests short; a veth peer answers within
// microseconds.
var fastProbe = ProbeOptions{Probes: 2, Interval: 100 * time.Millisecond, Wait: 200 * time.Millisecond}

// twoHosts joins two namespaces with a veth pair: "host" a (probe0) and
// a "neighbour" b (peer0) that owns 10.77.0.2/24.
func twoHosts(t *testing.T) (a, b *testNS) {
	a, b = newNS(t), newNS(t)
	a.veth("probe0", "peer0", b)
	a.up("probe0")
	b.up("peer0")
	b.addr("peer0", "10.77.0.2/24")
	return a, b
}

func TestProbe(t *testing.T) {
	t.Parallel()
	a, b := twoHosts(t)
	peerMAC := b.link("peer0").Attrs().HardwareAddr.String()
	opts := fastProbe
	opts.Namespace = a.handle()

	res, err := Probe(context.Background(), "probe0", netip.MustParseAddr("10.77.0.2"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.InUse || res.By != peerMAC {
		t.Errorf("address held by the neighbour: %+v, want in use by %s", res, peerMAC)
	}

	res, err = Probe(context.Background(), "probe0", netip.MustParseAddr("10.77.0.3"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.InUse || res.By != "" {
		t.Errorf("unused address: %+v, want not in use", res)
	}
}

func TestProbeErrors(t *testing.T) {
	t.Parallel()
	a, _ := twoHosts(t)
	a.veth("off0", "off0p", nil)
	a.veth("nc0", "nc0p", nil)
	a.up("nc0")
	opts := fastProbe
	opts.Namespace = a.handle()
	var ip netip.Addr
	for _, c := range []struct{ ifname, ip, want string }{
		{"nosuch0", "10.77.0.2", "nosuch0 is not a valid interface.  See `ip link show`"},
		{"off0", "10.77.0.2", "off0 is down; cannot probe from it"},
		{"nc0", "10.77.0.2", "nc0 has no carrier; cannot probe from it"},
		{"lo", "10.77.0.2", "lo does not use ARP"},
		{"abcdefghijklmnop", "10.77.0.2", "longer than 15 characters"},
		{"a/b", "10.77.0.2", `"a/b" is not a valid interface name`},
		{"probe0", "fd00::2", "fd00::2 is not an IPv4 address"},
	} {
		ip = netip.MustParseAddr(c.ip)
		_, err := Probe(context.Background(), c.ifname, ip, opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Probe(%s, %s) = %v, want %q", c.ifname, ip, err, c.want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Probe(ctx, "probe0", netip.MustParseAddr("10.77.0.3"), opts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled probe: %v", err)
	}
}

// Without root the raw socket fails with a message saying so. The test
// drops the effective uid of one locked thread only (a raw setresuid,
// not Go's all-threads one) inside the test namespace, probes from
// there, and lets the runtime discard the thread afterwards.
func TestProbeNotRoot(t *testing.T) {
	t.Parallel()
	a, _ := twoHosts(t)
	errs := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		if err := netns.Set(a.ns); err != nil {
			errs <- fmt.Errorf("setup: %w", err)
			return
		}
		const nobody = 65534
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), nobody, ^uintptr(0)); e != 0 {
			errs <- fmt.Errorf("setup: %w", e)
			return
		}
		_, err := Probe(context.Background(), "probe0", netip.MustParseAddr("10.77.0.2"), fastProbe)
		errs <- err
	}()
	err := <-errs
	want := "ARP probe on probe0: opening a raw socket: permission denied: run as root (sudo)"
	if !errors.Is(err, ErrNeedRoot) || !strings.Contains(err.Error(), want) {
		t.Errorf("unprivileged probe: %v, want ErrNeedRoot and %q", err, want)
	}
}

// Entering a namespace needs root too; an unprivileged process (a copy
// of this test binary run as nobody, handed the namespace as fd 3) gets
// ErrNeedRoot from every entry point.
func TestNamespaceNotRoot(t *testing.T) {
	t.Parallel()
	a, _ := twoHosts(t)
	out := runUnprivileged(t, a.ns)
	for _, what := range []string{"view", "probe", "watch"} {
		want := what + ": true: "
		if !strings.Contains(out, want) || !strings.Contains(out, "permission denied: run as root (sudo)") {
			t.Errorf("unprivileged %s: want ErrNeedRoot, child said:\n%s", what, out)
		}
	}
}

const childEnv = "NETCHECK_UNPRIVILEGED_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		unprivilegedChild()
		return
	}
	os.Exit(m.Run())
}

// unprivilegedChild reports, one line each, whether the entry points
// failed with ErrNeedRoot in the namespace passed as fd 3.
func unprivilegedChild() {
	ns := netns.NsHandle(3)
	_, err := ReadViewAt(&ns)
	fmt.Printf("view: %v: %v\n", errors.Is(err, ErrNeedRoot), err)
	_, err = Probe(context.Background(), "probe0", netip.MustParseAddr("10.77.0.2"), ProbeOptions{Namespace: &ns})
	fmt.Printf("probe: %v: %v\n", errors.Is(err, ErrNeedRoot), err)
	_, err = Watch(context.Background(), WatchOptions{Namespace: &ns})
	fmt.Printf("watch: %v: %v\n", errors.Is(err, ErrNeedRoot), err)
}

func runUnprivileged(t *testing.T, ns netns.NsHandle) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The go test build directory is private to root; nobody needs a
	// world-readable copy of the binary.
	dir, err := os.MkdirTemp("", "netcheck-notroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "netcheck.test")
	data, err := os.ReadFile(self)
	if err == nil {
		err = os.WriteFile(bin, data, 0o755)
	}
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	// A duplicate, so that closing the *os.File does not close ns.
	fd, err := unix.Dup(int(ns))
	if err != nil {
		t.Fatal(err)
	}
	nsFile := os.NewFile(uintptr(fd), "netns")
	defer nsFile.Close()
	cmd.ExtraFiles = []*os.File{nsFile}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("unprivileged child: %v\n%s", err, out)
	}
	return string(out)
}

func TestDuplicates(t *testing.T) {
	t.Parallel()
	a, b := twoHosts(t)
	a.veth("off0", "off0p", nil)
	a.veth("mine0", "mine0p", nil)
	a.up("mine0")
	a.addr("mine0", "10.88.0.5/24")
	node := func(name, target, ip string, running bool) []Requirement {
		r, err := Requirements(name, Map{
			"GRID_NETWORK_TARGET": target, "GRID_NETWORK_IP": ip, "GRID_NETWORK_MASK": "255.255.255.0"}, running)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	var reqs []Requirement
	reqs = append(reqs, node("taken", "probe0", "10.77.0.2", false)...)
	reqs = append(reqs, node("free", "probe0", "10.77.0.3", false)...)
	reqs = append(reqs, node("running", "probe0", "10.77.0.2", true)...) // answers for itself
	reqs = append(reqs, node("local", "probe0", "10.88.0.5", false)...)
	reqs = append(reqs, node("down", "off0", "10.77.0.4", false)...)
	dhcp, _ := Requirements("dhcp", Map{"GRID_NETWORK_TARGET": "probe0", "GRID_NETWORK_CONFIG": "DHCP"}, false)
	reqs = append(reqs, dhcp...)

	opts := fastProbe
	opts.Namespace = a.handle()
	fs, err := Duplicates(context.Background(), a.view(), reqs, opts)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Node+"|"+string(f.Severity)+"|"+f.Key+"|"+f.Value+"|"+f.Message)
	}
	peer := b.link("peer0").Attrs().HardwareAddr.String()
	want := []string{
		"taken|error|GRID_NETWORK_IP|10.77.0.2|10.77.0.2 is already in use: " + peer + " answers for it on probe0",
		"local|error|GRID_NETWORK_IP|10.88.0.5|10.88.0.5 is already configured on this host (interface mine0)",
		"down|warning|GRID_NETWORK_IP|10.77.0.4|could not check whether 10.77.0.4 is in use: off0 is down; cannot probe from it",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Duplicates:\n got %q\nwant %q", got, want)
	}
}
