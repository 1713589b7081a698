// Package vmware powers on grid-node VMs and configures host autostart
// through the vSphere API (govmomi), against an ESXi host or a vCenter.
//
// Names are resolved before anything changes, so a misspelt VM (reported
// with the closest names) or an ambiguous one (reported with the inventory
// paths that tell them apart) leaves the inventory untouched. Errors are
// one line, name the VM or host concerned, and never contain the
// password or URL user info.
package vmware

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Client is a logged-in vSphere session.
type Client struct {
	vc   *vim25.Client
	sm   *session.Manager
	cfg  Config
	host string // host:port of the server, for messages
}

// Connect opens a session. With a thumbprint the server's certificate must
// match it (even when a CA would vouch for it); with Insecure it is not
// checked; otherwise it must be trusted by the system's CAs.
//
// Every call has a deadline: cfg.Timeout (DefaultTimeout when zero) for
// each request, ConnectTimeout for the TCP connection and TLS handshake.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	u := *cfg.URL
	u.User = nil
	sc := soap.NewClient(&u, cfg.Insecure)
	sc.Timeout = cfg.Timeout
	tr := sc.DefaultTransport()
	tr.DialContext = (&net.Dialer{Timeout: ConnectTimeout}).DialContext
	tr.TLSHandshakeTimeout = ConnectTimeout
	if cfg.Thumbprint != "" {
		pin(tr.TLSClientConfig, u.Host, cfg.Thumbprint)
	}
	c := &Client{cfg: cfg, host: u.Host}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		if isTimeout(err) {
			return nil, c.finish(err, "connecting")
		}
		return nil, reachError(ctx, &u, err)
	}
	sm := session.NewManager(vc)
	if err := sm.Login(ctx, url.UserPassword(cfg.Username, cfg.Password)); err != nil {
		if isTimeout(err) {
			return nil, c.finish(err, "logging in as "+cfg.Username)
		}
		if fault.Is(err, &types.InvalidLogin{}) {
			return nil, fmt.Errorf("login to %s as %s failed: incorrect user name or password", u.Host, cfg.Username)
		}
		return nil, fmt.Errorf("login to %s as %s: %w", u.Host, cfg.Username, err)
	}
	c.vc, c.sm = vc, sm
	return c, nil
}

// The deadlines of a session's calls.
const (
	DefaultTimeout = 60 * time.Second // each call, unless Config.Timeout says otherwise
	ConnectTimeout = 10 * time.Second // the TCP connection and TLS handshake
)

// Close ends the session.
func (c *Client) Close(ctx context.Context) error {
	return c.finish(c.sm.Logout(ctx), "logging out")
}

// pin makes every TLS handshake check the server's certificate against
// the thumbprint instead of the CA chain.
func pin(conf *tls.Config, host, thumbprint string) {
	conf.InsecureSkipVerify = true
	conf.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("TLS: %s presented no certificate", host)
		}
		cert := cs.PeerCertificates[0]
		sha1, sha256 := soap.ThumbprintSHA1(cert), soap.ThumbprintSHA256(cert)
		if thumbprint == sha1 || thumbprint == sha256 {
			return nil
		}
		return &ThumbprintError{Host: host, Want: thumbprint, GotSHA1: sha1, GotSHA256: sha256, wantSHA256: len(thumbprint) > 59}
	}
}

// reachError explains why the first request failed: a pinned thumbprint
// that does not match, an untrusted certificate (with the thumbprint to
// pin, found by a second, unverified handshake), or the network error.
func reachError(ctx context.Context, u *url.URL, err error) error {
	var te *ThumbprintError
	if errors.As(err, &te) {
		return te
	}
	if soap.IsCertificateUntrusted(err) {
		msg := fmt.Sprintf("TLS certificate of %s is not trusted", u.Host)
		if tp := probeThumbprint(ctx, u.Host); tp != "" {
			msg += fmt.Sprintf("; if it is the right server, pass --thumbprint %s (or --insecure)", tp)
		}
		return errors.New(msg)
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return fmt.Errorf("cannot reach vSphere at %s: %v", u.Host, op.Err)
	}
	return fmt.Errorf("cannot reach vSphere at %s: %w", u.Host, err)
}

// probeThumbprint returns the SHA-1 thumbprint the server presents, or ""
// when it cannot be read.
func probeThumbprint(ctx context.Context, host string) string {
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return ""
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return ""
	}
	return soap.ThumbprintSHA1(certs[0])
}
