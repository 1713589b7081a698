package netcheck

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/storagegrid/storagegrid/finding"
)

// ProbeOptions tune an ARP probe. The zero value probes the caller's
// namespace with the defaults below, far shorter than RFC 5227's
// seconds-long waits: a maintenance check wants an answer per address
// in about a second, and a host that owns an address answers within
// milliseconds.
type ProbeOptions struct {
	Namespace *netns.NsHandle // nil: the caller's own
	Probes    int             // requests sent; default 3
	Interval  time.Duration   // between requests; default 200ms
	Wait      time.Duration   // for answers after the last request; default 400ms
}

func (o ProbeOptions) withDefaults() ProbeOptions {
	if o.Probes <= 0 {
		o.Probes = 3
	}
	if o.Interval <= 0 {
		o.Interval = 200 * time.Millisecond
	}
	if o.Wait <= 0 {
		o.Wait = 400 * time.Millisecond
	}
	return o
}

// ProbeResult says whether another machine answered for an address.
type ProbeResult struct {
	Interface string     `json:"interface"`
	Address   netip.Addr `json:"address"`
	InUse     bool       `json:"in_use"`
	By        string     `json:"by,omitempty"` // MAC address of the machine that answered
}

// Probe sends RFC 5227 ARP probes (sender IP 0.0.0.0, so no neighbour
// learns a mapping from us) for ip out of interface ifname and reports
// whether any other machine claims ip. It needs root (CAP_NET_RAW);
// without it the error wraps ErrNeedRoot.
func Probe(ctx context.Context, ifname string, ip netip.Addr, opts ProbeOptions) (ProbeResult, error) {
	res := ProbeResult{Interface: ifname, Address: ip}
	if err := ValidName(ifname); err != nil {
		return res, err
	}
	if !ip.Is4() {
		return res, fmt.Errorf("ARP probe: %s is not an IPv4 address", ip)
	}
	opts = opts.withDefaults()
	s, err := openARP(opts.Namespace, ifname)
	if err != nil {
		return res, err
	}
	defer unix.Close(s.fd)
	by, err := s.probe(ctx, ip, opts)
	if err != nil {
		return res, fmt.Errorf("ARP probe for %s on %s: %w", ip, ifname, err)
	}
	res.InUse, res.By = by != nil, macString(by)
	return res, nil
}

func macString(m net.HardwareAddr) string {
	if m == nil {
		return ""
	}
	return m.String()
}

// arpSocket is an AF_PACKET datagram socket bound to one interface: the
// kernel adds and strips the Ethernet header, we handle the ARP body.
type arpSocket struct {
	fd      int
	ifindex int
	mac     net.HardwareAddr
}

func openARP(ns *netns.NsHandle, ifname string) (*arpSocket, error) {
	h, err := handle(ns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	l, err := h.LinkByName(ifname)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return nil, errors.New(NotAnInterface(ifname))
		}
		return nil, netlinkError("looking up "+ifname, err)
	}
	a := l.Attrs()
	switch {
	case a.RawFlags&unix.IFF_NOARP != 0 || len(a.HardwareAddr) != 6:
		return nil, fmt.Errorf("%s does not use ARP (no Ethernet address); cannot probe from it", ifname)
	case a.RawFlags&unix.IFF_UP == 0:
		return nil, fmt.Errorf("%s is down; cannot probe from it", ifname)
	case a.RawFlags&unix.IFF_LOWER_UP == 0:
		// Probes would be dropped and silence would read as "free".
		return nil, fmt.Errorf("%s has no carrier; cannot probe from it", ifname)
	}
	fd, err := InNamespace(ns, func() (int, error) {
		return unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(htons(unix.ETH_P_ARP)))
	})
	if err != nil {
		return nil, netlinkError("ARP probe on "+ifname+": opening a raw socket", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: a.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ARP probe on %s: bind: %w", ifname, err)
	}
	return &arpSocket{fd: fd, ifindex: a.Index, mac: a.HardwareAddr}, nil
}

// probe sends opts.Probes requests and returns the MAC of the first
// machine claiming ip, or nil when none did before the last wait ended.
func (s *arpSocket) probe(ctx context.Context, ip netip.Addr, opts ProbeOptions) (net.HardwareAddr, error) {
	req := s.request(ip)
	dst := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: s.ifindex, Halen: 6,
		Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	for i := range opts.Probes {
		if err := unix.Sendto(s.fd, req, 0, dst); err != nil {
			return nil, fmt.Errorf("send: %w", err)
		}
		wait := opts.Interval
		if i == opts.Probes-1 {
			wait = opts.Wait
		}
		by, err := s.await(ctx, ip, time.Now().Add(wait))
		if by != nil || err != nil {
			return by, err
		}
	}
	return nil, nil
}

// await reads ARP packets until deadline and returns the sender MAC of
// the first one (reply or request) whose sender IP is ip and that is
// not our own.
func (s *arpSocket) await(ctx context.Context, ip netip.Addr, deadline time.Time) (net.HardwareAddr, error) {
	buf := make([]byte, 128)
	want := ip.As4()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		// Poll in short slices so cancellation is noticed promptly.
		fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(min(left, 50*time.Millisecond)/time.Millisecond)+1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return nil, fmt.Errorf("poll: %w", err)
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			continue
		}
		n, from, err := unix.Recvfrom(s.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("receive: %w", err)
		}
		// Packets may arrive from any interface between socket() and
		// bind(); keep only ours.
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Ifindex != s.ifindex {
			continue
		}
		if sha, spa, ok := parseARP(buf[:n]); ok && spa == want && !bytes.Equal(sha, s.mac) {
			return sha, nil
		}
	}
}

// ARP over Ethernet/IPv4 (RFC 826): fixed 28-byte body.
const (
	arpLen       = 28
	arpRequest   = 1
	hwEthernet   = 1
	ethAddrLen   = 6
	ipv4AddrLen  = 4
	arpShaOffset = 8
	arpSpaOffset = 14
)

// request builds an RFC 5227 probe: sender IP all zeros, target
// hardware address all zeros, target IP the address in question.
func (s *arpSocket) request(ip netip.Addr) []byte {
	b := make([]byte, arpLen)
	binary.BigEndian.PutUint16(b[0:], hwEthernet)
	binary.BigEndian.PutUint16(b[2:], unix.ETH_P_IP)
	b[4], b[5] = ethAddrLen, ipv4AddrLen
	binary.BigEndian.PutUint16(b[6:], arpRequest)
	copy(b[arpShaOffset:], s.mac)
	t := ip.As4()
	copy(b[24:], t[:])
	return b
}

// parseARP returns the sender hardware and protocol addresses of an
// Ethernet/IPv4 ARP packet.
func parseARP(b []byte) (net.HardwareAddr, [4]byte, bool) {
	var spa [4]byte
	if len(b) < arpLen || binary.BigEndian.Uint16(b[0:]) != hwEthernet ||
		binary.BigEndian.Uint16(b[2:]) != unix.ETH_P_IP || b[4] != ethAddrLen || b[5] != ipv4AddrLen {
		return nil, spa, false
	}
	copy(spa[:], b[arpSpaOffset:arpSpaOffset+4])
	return net.HardwareAddr(bytes.Clone(b[arpShaOffset : arpShaOffset+6])), spa, true
}

// htons converts to network byte order, as AF_PACKET wants protocols.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// Duplicates probes, on their target interfaces, the static addresses
// of nodes that are not running (a running node answers for its own
// address) and reports each address another machine answers for, or
// that this host itself carries (v is this host's view), as an error on
// *_NETWORK_IP. Probes run concurrently, a few at a time. An address
// that cannot be probed (interface down or missing, already reported by
// Check) is skipped with a warning; a permission problem aborts with an
// error wrapping ErrNeedRoot.
func Duplicates(ctx context.Context, v *View, reqs []Requirement, opts ProbeOptions) ([]finding.Finding, error) {
	const parallel = 8
	type job struct {
		r   Requirement
		res ProbeResult
		err error
	}
	var jobs []*job
	for _, r := range reqs {
		if r.Static && !r.Running && r.Address.IsValid() {
			jobs = append(jobs, &job{r: r})
		}
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, j := range jobs {
		if v.HasAddress(j.r.Address.Addr()) != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			j.res, j.err = Probe(ctx, j.r.Interface, j.r.Address.Addr(), opts)
		}()
	}
	wg.Wait()
	var out []finding.Finding
	for _, j := range jobs {
		ip := j.r.Address.Addr()
		f := finding.Finding{Severity: finding.Error, Node: j.r.Node, Key: j.r.networkKey("IP"), Value: ip.String()}
		switch l := v.HasAddress(ip); {
		case l != nil:
			f.Message = fmt.Sprintf("%s is already configured on this host (interface %s)", ip, l.Name)
		case errors.Is(j.err, ErrNeedRoot), errors.Is(j.err, context.Canceled), errors.Is(j.err, context.DeadlineExceeded):
			return nil, j.err
		case j.err != nil:
			f.Severity, f.Message = finding.Warning, fmt.Sprintf("could not check whether %s is in use: %v", ip, j.err)
		case j.res.InUse:
			f.Message = fmt.Sprintf("%s is already in use: %s answers for it on %s", ip, j.res.By, j.r.Interface)
		default:
			continue
		}
		out = append(out, f)
	}
	return out, nil
}
