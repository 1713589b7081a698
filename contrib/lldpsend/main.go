// Command lldpsend advertises a switch by LLDP on links of the current
// network namespace, as a switch's ports would: the demo (make demo)
// runs it at the far ends of its sandbox hosts' cables, so that their
// agents learn the topology from the wire as they would from real
// switches. It sends an LLDPDU on each port every -interval until
// stopped, and a shutdown LLDPDU (TTL 0) when it gets SIGTERM or SIGINT.
//
//	lldpsend -chassis 02:00:00:00:00:0a -name sw-a -port a-h2=Ethernet1/2 -port a-h3=Ethernet1/3
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/lldp"
	"github.com/mdlayher/packet"
)

// lldpGroup is the nearest-bridge address LLDP frames go to.
var lldpGroup = net.HardwareAddr{0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e}

type ports []string

func (p *ports) String() string     { return strings.Join(*p, ",") }
func (p *ports) Set(v string) error { *p = append(*p, v); return nil }

type port struct {
	conn *packet.Conn
	mac  net.HardwareAddr
	id   string
}

func main() {
	var ps ports
	chassis := flag.String("chassis", "", "chassis id: a MAC address (required)")
	name := flag.String("name", "", "system name")
	interval := flag.Duration("interval", time.Second, "time between advertisements")
	ttl := flag.Duration("ttl", 10*time.Second, "how long a receiver keeps an advertisement")
	flag.Var(&ps, "port", "`LINK=PORTID`: advertise on LINK as port PORTID (repeatable)")
	flag.Parse()
	if err := run(*chassis, *name, ps, *interval, *ttl); err != nil {
		fmt.Fprintln(os.Stderr, "lldpsend:", err)
		os.Exit(1)
	}
}

func run(chassis, name string, specs []string, interval, ttl time.Duration) error {
	mac, err := net.ParseMAC(chassis)
	if err != nil || len(specs) == 0 {
		return fmt.Errorf("want -chassis MAC and at least one -port LINK=PORTID (%v)", err)
	}
	var out []port
	for _, s := range specs {
		link, id, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("-port %q: want LINK=PORTID", s)
		}
		ifi, err := net.InterfaceByName(link)
		if err != nil {
			return err
		}
		conn, err := packet.Listen(ifi, packet.Raw, int(lldp.EtherType), nil)
		if err != nil {
			return fmt.Errorf("%s: %w", link, err)
		}
		defer conn.Close()
		out = append(out, port{conn: conn, mac: ifi.HardwareAddr, id: id})
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for _, p := range out {
			if err := p.send(mac, name, ttl); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			for _, p := range out {
				_ = p.send(mac, name, 0) // the switch going away
			}
			return nil
		case <-tick.C:
		}
	}
}

func (p port) send(chassis net.HardwareAddr, name string, ttl time.Duration) error {
	f := &lldp.Frame{
		ChassisID: &lldp.ChassisID{Subtype: lldp.ChassisIDSubtypeMACAddress, ID: chassis},
		PortID:    &lldp.PortID{Subtype: lldp.PortIDSubtypeInterfaceName, ID: []byte(p.id)},
		TTL:       ttl,
	}
	if name != "" {
		f.Optional = append(f.Optional, &lldp.TLV{Type: lldp.TLVTypeSystemName, Length: uint16(len(name)), Value: []byte(name)})
	}
	pdu, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	b, err := (&ethernet.Frame{Destination: lldpGroup, Source: p.mac, EtherType: lldp.EtherType, Payload: pdu}).MarshalBinary()
	if err != nil {
		return err
	}
	_, err = p.conn.WriteTo(b, &packet.Addr{HardwareAddr: lldpGroup})
	return err
}
