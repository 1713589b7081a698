package model

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/tlsfiles"
	"github.com/storagegrid/storagegrid/settings"
	"github.com/storagegrid/storagegrid/wire"
)

// Client calls a model server's HTTP API. The server address is an http
// or https URL, or unix:/path for a server listening on a Unix socket.
type Client struct {
	base  string
	http  *http.Client
	token string // query token, if the server wants one
}

// NewClient makes a client for server; token is the query token ("" when
// the server has none).
func NewClient(server, token string) (*Client, error) {
	c := &Client{token: token, http: &http.Client{Timeout: 60 * time.Second}}
	if path, ok := strings.CutPrefix(server, "unix:"); ok {
		if path == "" {
			return nil, fail.Usagef("model server %q: unix: needs a socket path", server)
		}
		c.base = "http://model"
		c.http.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}
		return c, nil
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fail.Usagef("model server %q: want http://HOST:PORT, https://HOST:PORT or unix:/PATH", server)
	}
	c.base = strings.TrimSuffix(server, "/")
	return c, nil
}

// Listen opens the listener for a server address: HOST:PORT, or
// unix:/path (a stale socket file is replaced, its directory made).
func Listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(path)
		}
		return net.Listen("unix", path)
	}
	return net.Listen("tcp", addr)
}

// WaitReady polls the server until it answers or d passes, for scripts
// that start a server and query it at once.
func (c *Client) WaitReady(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		var v wire.VersionInfo
		err := c.get(ctx, wire.VersionPath, nil, &v)
		if err == nil || !refused(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// refused: nothing listens (yet).
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}

// Hosts lists the hosts.
func (c *Client) Hosts(ctx context.Context) ([]HostSummary, error) {
	var out []HostSummary
	return out, c.get(ctx, PathHosts, nil, &out)
}

// Nodes lists the nodes, of one host when host is set.
func (c *Client) Nodes(ctx context.Context, host string) ([]Node, error) {
	var out []Node
	return out, c.get(ctx, PathNodes, url.Values{"host": {host}}, &out)
}

// Changes lists changes.
func (c *Client) Changes(ctx context.Context, q ChangeQuery) ([]Change, error) {
	v := url.Values{"since": {q.Since.Format(time.RFC3339Nano)}, "host": {q.Host}, "kind": {string(q.Kind)}}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out []Change
	return out, c.get(ctx, PathChanges, v, &out)
}

// State reconstructs the entities at a past time (the current ones when
// at is zero), of one host when host is set.
func (c *Client) State(ctx context.Context, at time.Time, host string) (State, error) {
	v := url.Values{"host": {host}}
	if !at.IsZero() {
		v.Set("at", at.Format(time.RFC3339Nano))
	}
	var out State
	return out, c.get(ctx, PathState, v, &out)
}

// Impact lists what depends on an entity (see Graph.ParseRef).
func (c *Client) Impact(ctx context.Context, entity string) (Impact, error) {
	var out Impact
	return out, c.get(ctx, PathImpact, url.Values{"entity": {entity}}, &out)
}

// CheckMigrate asks whether node may move to host to. The verdict comes
// back whether safe or not; Verdict.Err turns it into a refusal. This is
// what `node migrate` calls before it moves anything.
func (c *Client) CheckMigrate(ctx context.Context, node, to string) (Verdict, error) {
	var out Verdict
	return out, c.get(ctx, PathCheckMigrate, url.Values{"node": {node}, "to": {to}}, &out)
}

// PlanPatch asks for a plan to patch hosts (see Graph.PlanPatch).
func (c *Client) PlanPatch(ctx context.Context, q PatchQuery) (PatchPlan, error) {
	var out PatchPlan
	return out, c.post(ctx, PathPlanPatch, q, &out)
}

// Switches lists the switches the hosts hear by LLDP, with their ports.
func (c *Client) Switches(ctx context.Context) ([]Switch, error) {
	var out []Switch
	return out, c.get(ctx, PathSwitches, url.Values{}, &out)
}

// Failures asks which component failures would break a rule.
func (c *Client) Failures(ctx context.Context, q FailureQuery) (FailureReport, error) {
	var out FailureReport
	v := url.Values{"depth": {strconv.Itoa(q.Depth)}, "site": {q.Site}, "kind": {strings.Join(q.Kinds, ",")}}
	return out, c.get(ctx, PathFailures, v, &out)
}

// Scenario asks what a sequence of changes would do (see
// Graph.Scenario); nothing is changed.
func (c *Client) Scenario(ctx context.Context, steps []Step) (ScenarioReport, error) {
	var out ScenarioReport
	return out, c.post(ctx, PathWhatIf, ScenarioRequest{Steps: steps}, &out)
}

// OkToStop asks whether host may stop now.
func (c *Client) OkToStop(ctx context.Context, host string) (Verdict, error) {
	var out Verdict
	return out, c.get(ctx, PathOkToStop, url.Values{"host": {host}}, &out)
}

// Metrics returns latest values, and roll-ups when q.Since is set.
func (c *Client) Metrics(ctx context.Context, q MetricQuery) ([]Series, error) {
	v := url.Values{"host": {q.Host}, "prefix": {q.Prefix}}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339Nano))
	}
	var out []Series
	return out, c.get(ctx, PathMetrics, v, &out)
}

// Ingest sends a compressed batch with a host's token, as an agent does.
func (c *Client) Ingest(ctx context.Context, hostToken string, gz []byte) (wire.Ack, error) {
	ack, err := wire.Send(ctx, c.http, c.base, hostToken, gz)
	return ack, classify(err)
}

// IngestFile sends a saved batch file (NDJSON, gzipped or not) as its
// host's agent would, with hostToken. The file is checked against the
// wire schema first: a bad file is an error and nothing is sent.
func (c *Client) IngestFile(ctx context.Context, hostToken, path string) (wire.Ack, error) {
	b, err := ReadBatchFile(path)
	if err != nil {
		return wire.Ack{}, err
	}
	gz, err := wire.Compress(b)
	if err != nil {
		return wire.Ack{}, err
	}
	ack, err := c.Ingest(ctx, hostToken, gz)
	if err != nil {
		return ack, fmt.Errorf("%s: %w", path, err)
	}
	return ack, nil
}

// ReadBatchFile reads a saved agent batch (NDJSON, gzip or not) and
// checks it as the server would.
func ReadBatchFile(path string) (*wire.Batch, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fail.With(fail.Usage, err)
	}
	enc := ""
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		enc = "gzip"
	}
	b, err := wire.DecodeBody(bytes.NewReader(data), enc, wire.DefaultLimits)
	if err != nil {
		return nil, fail.Invalidf("%s: %v", path, err)
	}
	return b, nil
}

func (c *Client) get(ctx context.Context, path string, v url.Values, out any) error {
	for k, vals := range v {
		if len(vals) == 1 && vals[0] == "" {
			delete(v, k)
		}
	}
	u := c.base + path
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return c.do(req, path, out)
}

// post sends in as JSON and reads the JSON answer into out: for the
// questions too large for a URL (a what-if scenario).
func (c *Client) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, path, out)
}

func (c *Client) do(req *http.Request, path string, out any) error {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("model server: %w%s", err, tlsHint(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("model server: reading answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb wire.ErrorBody
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
			msg = eb.Error
		}
		return classify(&wire.StatusError{Code: resp.StatusCode, Message: msg})
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("model server: malformed answer to %s: %w", path, err)
	}
	return nil
}

// tlsHint names the setting that fixes a failed TLS handshake.
func tlsHint(err error) string {
	var ua x509.UnknownAuthorityError
	switch {
	case errors.As(err, &ua):
		return " (model.tls_ca names the CA that signed the server's certificate)"
	case strings.Contains(err.Error(), "certificate required"):
		return " (the server requires a client certificate: set model.client_tls_cert and model.client_tls_key)"
	}
	return ""
}

// classify marks the server's answers to a wrong question (something
// unknown, a bad parameter, compacted history) as usage errors.
func classify(err error) error {
	var se *wire.StatusError
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case http.StatusNotFound, http.StatusBadRequest, http.StatusGone:
		return fail.With(fail.Usage, fmt.Errorf("model server: %s", se.Message))
	}
	return err
}

// ClientFor makes a client from the [model] settings: server (a --server
// flag) wins, then model.server, then the address model.listen serves
// (https when model.tls_cert is set). An https server is trusted through
// model.tls_ca, and model.client_tls_cert is presented to a server that
// requires client certificates. Paths in the settings are host paths,
// resolved under root.
func ClientFor(m settings.Model, root hostpath.Root, server string) (*Client, error) {
	if server == "" {
		server = settingsServer(m, root)
	}
	token := ""
	if m.ClientTokenFile != "" {
		var err error
		if token, err = ReadTokenFile(root.Join(m.ClientTokenFile)); err != nil {
			return nil, err
		}
	}
	c, err := NewClient(server, token)
	if err != nil || !strings.HasPrefix(c.base, "https:") {
		return c, err
	}
	cfg, err := tlsfiles.ClientConfig(root, tlsfiles.File{Key: "model.client_tls_cert", Path: m.ClientTLSCert},
		tlsfiles.File{Key: "model.client_tls_key", Path: m.ClientTLSKey}, tlsfiles.File{Key: "model.tls_ca", Path: m.TLSCA})
	if err != nil || cfg == nil {
		return c, err
	}
	c.http.Transport = tlsfiles.Transport(cfg)
	return c, nil
}

// settingsServer is the server the settings name: model.server, else this
// host's own model.listen. A unix: socket there is a host path, resolved
// under root like every path in the settings.
func settingsServer(m settings.Model, root hostpath.Root) string {
	server := m.Server
	if server == "" {
		switch {
		case strings.HasPrefix(m.Listen, "unix:"):
			server = m.Listen
		case m.TLSCert != "":
			server = "https://" + m.Listen
		default:
			server = "http://" + m.Listen
		}
	}
	if path, ok := strings.CutPrefix(server, "unix:"); ok {
		return "unix:" + root.Join(path)
	}
	return server
}
