package vmware

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/storagegrid/storagegrid/vmware/vcsim"
)

// The tests run against govmomi's simulator (vcsim) over TLS on
// 127.0.0.1. The simulator lacks HostAutoStartManager; package vcsim
// registers an implementation of its config property and its
// ReconfigureAutostart method in the simulator's object map, so this
// package's client code runs unchanged against it.

func startSim(t *testing.T, kind string) *vcsim.Sim {
	t.Helper()
	sim, err := vcsim.Start(context.Background(), kind)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return sim
}

func simConfig(t *testing.T, sim *vcsim.Sim) Config {
	t.Helper()
	u, err := url.Parse(sim.URL)
	if err != nil {
		t.Fatal(err)
	}
	return Config{URL: u, Username: vcsim.Username, Password: vcsim.Password, Thumbprint: sim.Thumbprint}
}

func connectSim(t *testing.T, sim *vcsim.Sim) *Client {
	t.Helper()
	c, err := Connect(context.Background(), simConfig(t, sim))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// noSecret fails the test when an error shows the password in any form.
func noSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, form := range []string{vcsim.Password, url.QueryEscape(vcsim.Password), url.PathEscape(vcsim.Password), "pa55"} {
		if strings.Contains(err.Error(), form) {
			t.Errorf("password in error: %v", err)
		}
	}
}

func TestConnectESXAndVPX(t *testing.T) {
	for _, kind := range []string{"esx", "vpx"} {
		t.Run(kind, func(t *testing.T) {
			sim := startSim(t, kind)
			c := connectSim(t, sim)
			inv, err := c.inventory(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.vms) != len(sim.Names("VirtualMachine")) || len(inv.hosts) != len(sim.Names("HostSystem")) {
				t.Errorf("inventory has %d VMs, %d hosts; simulator %d, %d", len(inv.vms), len(inv.hosts),
					len(sim.Names("VirtualMachine")), len(sim.Names("HostSystem")))
			}
		})
	}
}

func TestConnectWrongPassword(t *testing.T) {
	sim := startSim(t, "esx")
	cfg := simConfig(t, sim)
	cfg.Password = "not-" + vcsim.Password
	_, err := Connect(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "as grid-admin failed: incorrect user name or password") {
		t.Fatalf("got %v", err)
	}
	noSecret(t, err)
}

func TestConnectThumbprint(t *testing.T) {
	sim := startSim(t, "esx")
	ctx := context.Background()

	// The right thumbprint is enough: no --insecure needed.
	cfg := simConfig(t, sim)
	c, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("pinned thumbprint: %v", err)
	}
	_ = c.Close(ctx)

	cfg.Thumbprint = strings.Repeat("00:", 19) + "00"
	_, err = Connect(ctx, cfg)
	var te *ThumbprintError
	if !errors.As(err, &te) {
		t.Fatalf("wrong thumbprint: got %v, want a ThumbprintError", err)
	}
	want := "TLS thumbprint mismatch for " + cfg.URL.Host + ": the server presents " + sim.Thumbprint + ", expected " + cfg.Thumbprint + "; not connecting"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	noSecret(t, err)

	// Neither thumbprint nor --insecure: the self-signed certificate is
	// refused, and the message offers its thumbprint.
	cfg.Thumbprint = ""
	_, err = Connect(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "is not trusted; if it is the right server, pass --thumbprint "+sim.Thumbprint) {
		t.Fatalf("untrusted: got %v", err)
	}

	cfg.Insecure = true
	c, err = Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("insecure: %v", err)
	}
	_ = c.Close(ctx)
}

func TestConnectRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	cfg, err := Resolve(Source{URL: "https://grid-admin:" + url.QueryEscape(vcsim.Password) + "@" + addr + "/sdk"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Connect(context.Background(), cfg)
	if err == nil || err.Error() != "cannot reach vSphere at "+addr+": connect: connection refused" {
		t.Fatalf("got %v", err)
	}
	noSecret(t, err)
}
