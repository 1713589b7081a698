package model

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/agent"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/sdnotify"
	"github.com/storagegrid/storagegrid/internal/tlsfiles"
	"github.com/storagegrid/storagegrid/settings"
	"github.com/storagegrid/storagegrid/wire"
)

// The certificates of these tests live under a sandbox root, in the
// directory the settings name them by.
const tlsDir = "/etc/storagegrid/tls"

// testCA signs certificates and writes them, with their keys, under a
// root as NAME.crt and NAME.key.
type testCA struct {
	t    *testing.T
	root string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// leafSpec describes a certificate to issue.
type leafSpec struct {
	cn       string
	dns      []string
	ips      []net.IP
	usage    x509.ExtKeyUsage
	from, to time.Time
}

func newTestCA(t *testing.T, root, name string) *testCA {
	t.Helper()
	key := genKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{t: t, root: root, cert: cert, key: key}
	ca.write(name+".crt", "CERTIFICATE", der, 0o644)
	return ca
}

func genKey(t *testing.T) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t *testing.T) *big.Int {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (ca *testCA) write(name, typ string, der []byte, mode os.FileMode) {
	ca.t.Helper()
	dir := filepath.Join(ca.root, tlsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		ca.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		ca.t.Fatal(err)
	}
}

// issue writes NAME.crt and NAME.key (mode 0600) signed by the CA.
func (ca *testCA) issue(name string, s leafSpec) {
	ca.t.Helper()
	if s.from.IsZero() {
		s.from, s.to = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	}
	key := genKey(ca.t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(ca.t), Subject: pkix.Name{CommonName: s.cn}, DNSNames: s.dns, IPAddresses: s.ips,
		NotBefore: s.from, NotAfter: s.to, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{s.usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		ca.t.Fatal(err)
	}
	ca.write(name+".crt", "CERTIFICATE", der, 0o644)
	ca.write(name+".key", "PRIVATE KEY", kder, 0o600)
}

func (ca *testCA) client(name, cn string, dns ...string) {
	ca.issue(name, leafSpec{cn: cn, dns: dns, usage: x509.ExtKeyUsageClientAuth})
}

// fleetPKI is the fleet's CA with a server certificate for 127.0.0.1,
// client certificates for h1 (by common name) and h2 (by DNS name), and
// one for h3, a host the server does not list; plus an expired h1
// certificate and one for h1 from a CA the server does not trust. It
// returns the fleet's CA, to sign CRLs.
func fleetPKI(t *testing.T, root string) *testCA {
	ca := newTestCA(t, root, "ca")
	ca.issue("server", leafSpec{cn: "model", ips: []net.IP{net.ParseIP("127.0.0.1")}, usage: x509.ExtKeyUsageServerAuth})
	ca.client("h1", "h1")
	ca.client("h2", "storagegrid agent", "h2")
	ca.client("h3", "h3")
	ca.issue("expired", leafSpec{cn: "h1", usage: x509.ExtKeyUsageClientAuth,
		from: time.Now().Add(-48 * time.Hour), to: time.Now().Add(-24 * time.Hour)})
	newTestCA(t, root, "rogue-ca").client("rogue", "h1")
	return ca
}

func tlsPath(name string) string { return tlsDir + "/" + name }

// mtlsSettings are the [model] settings of a server with mutual TLS and
// of its query clients, which present h2's certificate.
func mtlsSettings() settings.Model {
	m := settings.Defaults().Model
	m.TLSCert, m.TLSKey, m.TLSClientCA = tlsPath("server.crt"), tlsPath("server.key"), tlsPath("ca.crt")
	m.TLSCA, m.ClientTLSCert, m.ClientTLSKey = tlsPath("ca.crt"), tlsPath("h2.crt"), tlsPath("h2.key")
	return m
}

// agentSettings are the [agent] TLS settings of a host presenting the
// certificate NAME.crt.
func agentSettings(name string) settings.Agent {
	return settings.Agent{TLSCert: tlsPath(name + ".crt"), TLSKey: tlsPath(name + ".key"), TLSCA: tlsPath("ca.crt")}
}

// tlsServer is a model server listening with TLS on 127.0.0.1, set up
// from [model] settings the way `model serve` sets itself up.
type tlsServer struct {
	url   string
	store *SQLiteStore
	tls   *ServerTLS
	log   *serverLog
}

// serverLog is what the server logs: its failed handshakes.
type serverLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// wantLogged waits for the server to have logged s n times: it logs a
// failed handshake after the client has seen it fail.
func (ts *tlsServer) wantLogged(t *testing.T, s string, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("the server to log %d times %s", n, s), func() bool {
		ts.log.mu.Lock()
		defer ts.log.mu.Unlock()
		return strings.Count(ts.log.buf.String(), s) >= n
	})
}

func startTLSServer(t *testing.T, root string, m settings.Model, tokens string) *tlsServer {
	t.Helper()
	stls, err := LoadServerTLS(m, hostpath.Root(root))
	if err != nil {
		t.Fatal(err)
	}
	toks, err := ParseTokens("tokens", []byte(tokens))
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "model.db"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(context.Background(), Config{Store: store, Tokens: toks, ClientCerts: stls.RequiresClientCerts(), StaleAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logged := &serverLog{}
	hs := &http.Server{Handler: srv.Handler(), ErrorLog: log.New(logged, "", 0)}
	go hs.Serve(stls.Listener(ln))
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
		store.Close()
	})
	return &tlsServer{url: "https://" + ln.Addr().String(), store: store, tls: stls, log: logged}
}

// mtlsFleet is a server with mutual TLS whose tokens file holds tokens,
// and the root under which the fleet's certificates are.
func mtlsFleet(t *testing.T, tokens string) (string, *tlsServer) {
	root := t.TempDir()
	fleetPKI(t, root)
	return root, startTLSServer(t, root, mtlsSettings(), tokens)
}

// send posts host's snapshot through an agent's client configured by a.
func (ts *tlsServer) send(t *testing.T, root string, a settings.Agent, host, token string) (wire.Ack, error) {
	t.Helper()
	c, err := agent.HTTPClient(a, hostpath.Root(root))
	if err != nil {
		t.Fatal(err)
	}
	gz, err := wire.Compress(newSimHost(host, 1, time.Now()).snapshot())
	if err != nil {
		t.Fatal(err)
	}
	return wire.Send(context.Background(), c, ts.url, token, gz)
}

// wantStreams checks the hosts the store has events of, comma-separated.
func (ts *tlsServer) wantStreams(t *testing.T, want string) {
	t.Helper()
	st, err := ts.store.Streams(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, s := range st {
		hosts = append(hosts, s.Host)
	}
	if got := strings.Join(hosts, ","); got != want {
		t.Fatalf("stored events of hosts %q, want %q", got, want)
	}
}

func wantStatus(t *testing.T, what string, err error, code int, contains string) {
	t.Helper()
	var se *wire.StatusError
	if !errors.As(err, &se) || se.Code != code || !strings.Contains(se.Message, contains) {
		t.Fatalf("%s: %v, want %d containing %q", what, err, code, contains)
	}
}

// TestAgentShipsOverMutualTLS runs the real agent of host h1 with the
// client that `agent run` builds from agent.tls_cert, tls_key and
// tls_ca; its snapshot reaches a server that requires client
// certificates, and a query client configured from [model] reads it.
func TestAgentShipsOverMutualTLS(t *testing.T) {
	root, ts := mtlsFleet(t, "h1 -\nh2 -\n")

	hostRoot := t.TempDir()
	nodes := filepath.Join(hostRoot, "etc/storagegrid/nodes")
	os.MkdirAll(nodes, 0o755)
	conf := "NODE_TYPE = VM_Storage_Node\nBLOCK_DEVICE_VAR_LOCAL = /dev/mapper/sgws-dc1-s1-var-local\n"
	if err := os.WriteFile(filepath.Join(nodes, "DC1-S1.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	client, err := agent.HTTPClient(agentSettings("h1"), hostpath.Root(root))
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{Host: "h1", Sources: agent.Sources{Root: hostpath.Root(hostRoot), Runtime: runningRuntime{}},
		Interval: time.Second, SpoolDir: t.TempDir(), SpoolMax: 1 << 30, Server: ts.url, Client: client, Disable: []string{"hwmon"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, sdnotify.Notifier{}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	m := mtlsSettings()
	m.Server = ts.url
	q, err := ClientFor(m, hostpath.Root(root), "")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "h1's node in the model", func() bool {
		ns, err := q.Nodes(ctx, "h1")
		return err == nil && len(ns) == 1 && ns[0].Name == "DC1-S1" && ns[0].InService()
	})
	ts.wantStreams(t, "h1")
}

// TestCertificateMustNameTheHost: a certificate lets its host in and no
// other; a host the tokens file does not list is refused although the
// CA signed its certificate.
func TestCertificateMustNameTheHost(t *testing.T) {
	root, ts := mtlsFleet(t, "h1 -\nh2 -\n")

	_, err := ts.send(t, root, agentSettings("h2"), "h1", "")
	wantStatus(t, "h2's certificate, h1's batch", err, 403, "the client certificate of storagegrid agent, h2 cannot send events of host h1")
	_, err = ts.send(t, root, agentSettings("h3"), "h3", "")
	wantStatus(t, "unlisted h3", err, 403, "host h3 is not in the tokens file")
	ts.wantStreams(t, "")

	// The common name and a DNS name both identify a host.
	for _, h := range []string{"h1", "h2"} {
		if ack, err := ts.send(t, root, agentSettings(h), h, ""); err != nil || ack.Host != h || ack.Stored == 0 {
			t.Fatalf("%s: %+v, %v", h, ack, err)
		}
	}
	ts.wantStreams(t, "h1,h2")
}

// TestTokenAndCertificateBothMatch: a host listed with a token must send
// it over mutual TLS too, and each credential must name the host.
func TestTokenAndCertificateBothMatch(t *testing.T) {
	root, ts := mtlsFleet(t, "h1 "+tokenOf("h1")+"\nh2 "+tokenOf("h2")+"\n")

	_, err := ts.send(t, root, agentSettings("h1"), "h1", "")
	wantStatus(t, "h1's certificate without its token", err, 401, "host h1 must send its bearer token")
	_, err = ts.send(t, root, agentSettings("h1"), "h1", tokenOf("h2"))
	wantStatus(t, "h1's certificate with h2's token", err, 403, "the token of host h2 cannot send events of host h1")
	_, err = ts.send(t, root, agentSettings("h2"), "h1", tokenOf("h1"))
	wantStatus(t, "h2's certificate with h1's token", err, 403, "the client certificate of storagegrid agent, h2 cannot send events of host h1")
	_, err = ts.send(t, root, agentSettings("h1"), "h1", "not-a-known-token-at-all")
	wantStatus(t, "unknown token", err, 401, "missing or unknown bearer token")
	ts.wantStreams(t, "")
	if _, err := ts.send(t, root, agentSettings("h1"), "h1", tokenOf("h1")); err != nil {
		t.Fatal(err)
	}
	ts.wantStreams(t, "h1")
}

// TestHandshakeRefusals: without a certificate the fleet's CA signed and
// that is valid now, no request gets through; a plain-HTTP client is
// answered 400; nothing is stored.
func TestHandshakeRefusals(t *testing.T) {
	root, ts := mtlsFleet(t, "h1 -\n")

	for name, a := range map[string]settings.Agent{
		"untrusted CA":   agentSettings("rogue"),
		"expired":        agentSettings("expired"),
		"no certificate": {TLSCA: tlsPath("ca.crt")},
	} {
		_, err := ts.send(t, root, a, "h1", "")
		var se *wire.StatusError
		if err == nil || errors.As(err, &se) || !strings.Contains(err.Error(), "tls:") {
			t.Errorf("%s: %v, want a failed handshake", name, err)
		}
	}
	// An agent that does not trust the server's CA refuses the server.
	_, err := ts.send(t, root, settings.Agent{TLSCert: tlsPath("h1.crt"), TLSKey: tlsPath("h1.key")}, "h1", "")
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Errorf("server from an unknown CA: %v", err)
	}
	gz, _ := wire.Compress(newSimHost("h1", 1, time.Now()).snapshot())
	_, err = wire.Send(context.Background(), &http.Client{Timeout: 10 * time.Second}, strings.Replace(ts.url, "https:", "http:", 1), "", gz)
	wantStatus(t, "plain HTTP", err, 400, "HTTP request to an HTTPS server")
	ts.wantStreams(t, "")

	// Queries need a certificate too; the error says which settings.
	m := mtlsSettings()
	m.ClientTLSCert, m.ClientTLSKey = "", ""
	q, err := ClientFor(m, hostpath.Root(root), ts.url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Hosts(context.Background()); err == nil || !strings.Contains(err.Error(), "set model.client_tls_cert") {
		t.Fatalf("query without a certificate: %v", err)
	}
	m.TLSCA = ""
	q, _ = ClientFor(m, hostpath.Root(root), ts.url)
	if _, err := q.Hosts(context.Background()); err == nil || !strings.Contains(err.Error(), "model.tls_ca names the CA") {
		t.Fatalf("query not trusting the server: %v", err)
	}

	// TLS 1.1 is below the server's minimum.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true}}}
	if _, err := wire.Send(context.Background(), old, ts.url, "", gz); err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("TLS 1.1 client: %v", err)
	}
}

// TestServerTLSReload: after the certificates are replaced, Reload makes
// new handshakes use them; a reload that fails keeps the old ones.
func TestServerTLSReload(t *testing.T) {
	root, ts := mtlsFleet(t, "h1 -\n")
	if _, err := ts.send(t, root, agentSettings("h1"), "h1", ""); err != nil {
		t.Fatal(err)
	}

	keyFile := filepath.Join(root, tlsPath("server.key"))
	good, _ := os.ReadFile(keyFile)
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	if err := ts.tls.Reload(); err == nil || !strings.Contains(err.Error(), "model.tls_key /etc/storagegrid/tls/server.key") {
		t.Fatalf("reload with a broken key: %v", err)
	}
	if _, err := ts.send(t, root, agentSettings("h1"), "h1", ""); err != nil {
		t.Fatalf("after a failed reload: %v", err)
	}
	os.WriteFile(keyFile, good, 0o600)

	// A new CA: after the reload the server presents its new certificate
	// and trusts only the new CA's clients.
	newRoot := t.TempDir()
	fleetPKI(t, newRoot)
	for _, f := range []string{"ca.crt", "server.crt", "server.key"} {
		data, _ := os.ReadFile(filepath.Join(newRoot, tlsPath(f)))
		os.WriteFile(filepath.Join(root, tlsPath(f)), data, 0o600)
	}
	if err := ts.tls.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.send(t, newRoot, agentSettings("h1"), "h1", ""); err != nil {
		t.Fatalf("client of the new CA: %v", err)
	}
	if _, err := ts.send(t, root, agentSettings("h1"), "h1", ""); err == nil {
		t.Fatal("client of the old CA still accepted")
	}
}

// TestTLSSettingsRefused: broken TLS files and tokenless hosts without
// client certificates are refused before anything listens.
func TestTLSSettingsRefused(t *testing.T) {
	root := t.TempDir()
	fleetPKI(t, root)
	r := hostpath.Root(root)
	os.Chmod(filepath.Join(root, tlsPath("server.key")), 0o644)
	if _, err := LoadServerTLS(mtlsSettings(), r); err == nil || err.Error() != "model.tls_key /etc/storagegrid/tls/server.key: mode 0644 lets others read the key; chmod 600 /etc/storagegrid/tls/server.key" {
		t.Fatalf("readable key: %v", err)
	}
	os.Chmod(filepath.Join(root, tlsPath("server.key")), 0o600)
	m := mtlsSettings()
	m.TLSClientCA = tlsPath("server.key")
	if _, err := LoadServerTLS(m, r); err == nil || !strings.Contains(err.Error(), "model.tls_client_ca /etc/storagegrid/tls/server.key holds no PEM certificate") {
		t.Fatalf("key as CA: %v", err)
	}
	m = mtlsSettings()
	m.TLSCert = tlsPath("missing.crt")
	if _, err := LoadServerTLS(m, r); err == nil || err.Error() != "model.tls_cert /etc/storagegrid/tls/missing.crt: no such file or directory" {
		t.Fatalf("missing certificate: %v", err)
	}
	m = mtlsSettings()
	m.TLSKey = tlsPath("h1.key")
	if _, err := LoadServerTLS(m, r); err == nil || !strings.Contains(err.Error(), "private key does not match public key") {
		t.Fatalf("mismatched key: %v", err)
	}
	if _, err := agent.HTTPClient(settings.Agent{TLSCert: tlsPath("h1.crt")}, r); err == nil || err.Error() != "agent.tls_cert and agent.tls_key go together" {
		t.Fatalf("certificate without key: %v", err)
	}
	if stls, err := LoadServerTLS(settings.Defaults().Model, r); stls != nil || err != nil || stls.RequiresClientCerts() {
		t.Fatalf("no TLS settings: %v, %v", stls, err)
	}

	toks, err := ParseTokens("tokens", []byte("h1 "+tokenOf("h1")+"\nh2 -\n"))
	if err != nil || toks.Hosts() != 2 || toks.Len() != 1 {
		t.Fatalf("tokens %v, %v", toks, err)
	}
	store, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "model.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, err = NewServer(context.Background(), Config{Store: store, Tokens: toks, StaleAfter: time.Hour})
	if err == nil || !strings.Contains(err.Error(), `tokens file tokens: host h2 is listed without a token ("h2 -"), which needs client certificates`) {
		t.Fatalf("tokenless host without client certificates: %v", err)
	}
}

// crl writes NAME, a CRL of the CA in PEM valid until next, revoking the
// certificates NAME.crt of revoked; der writes it as one DER CRL instead.
func (ca *testCA) crl(name string, next time.Time, der bool, revoked ...string) {
	ca.t.Helper()
	tmpl := &x509.RevocationList{Number: serial(ca.t), ThisUpdate: next.Add(-2 * time.Hour), NextUpdate: next}
	for _, r := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: readCert(ca.t, ca.root, r).SerialNumber, RevocationTime: time.Now()})
	}
	data, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.cert, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	if !der {
		data = pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: data})
	}
	if err := os.WriteFile(filepath.Join(ca.root, tlsPath(name)), data, 0o644); err != nil {
		ca.t.Fatal(err)
	}
}

func readCert(t *testing.T, root, name string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, tlsPath(name+".crt")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s.crt holds no PEM block", name)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// crlFleet is mtlsFleet with model.tls_client_crl set to crl.pem, a CRL
// of the fleet's CA revoking the certificates of revoked.
func crlFleet(t *testing.T, tokens string, revoked ...string) (string, *testCA, *tlsServer) {
	root := t.TempDir()
	ca := fleetPKI(t, root)
	ca.crl("crl.pem", time.Now().Add(time.Hour), false, revoked...)
	m := mtlsSettings()
	m.TLSClientCRL = tlsPath("crl.pem")
	return root, ca, startTLSServer(t, root, m, tokens)
}

// wantRevoked checks that err is a connection the server cut, not one of
// its answers, and that the server has by now refused the revoked
// certificate NAME.crt n times. The client may see the alert or, when
// it writes after the server closed, a broken pipe: the server's log
// says why.
func (ts *tlsServer) wantRevoked(t *testing.T, root, what string, err error, name, cn string, n int) {
	t.Helper()
	var se *wire.StatusError
	if err == nil || errors.As(err, &se) {
		t.Fatalf("%s: %v, want a failed handshake", what, err)
	}
	msg := fmt.Sprintf("client certificate serial %s (CN %s) is revoked (model.tls_client_crl)", hexSerial(readCert(t, root, name).SerialNumber), cn)
	ts.wantLogged(t, msg, n)
}

// TestRevokedClientCertificateRefused: the CA signed h1's certificate and
// h2's, the CRL revokes h1's: h1 cannot even complete a handshake, h2
// ships as before, and the server says which certificate it refused.
func TestRevokedClientCertificateRefused(t *testing.T) {
	root, _, ts := crlFleet(t, "h1 -\nh2 -\n", "h1")

	_, err := ts.send(t, root, agentSettings("h1"), "h1", "")
	ts.wantRevoked(t, root, "revoked h1", err, "h1", "h1", 1)
	if ack, err := ts.send(t, root, agentSettings("h2"), "h2", ""); err != nil || ack.Stored == 0 {
		t.Fatalf("h2, not revoked: %+v, %v", ack, err)
	}
	ts.wantStreams(t, "h2")
}

// TestRevokeByReload: a certificate accepted before is refused once a
// new CRL revoking it is reloaded (here a DER one), resumed TLS sessions
// included; a reload that fails keeps the CRL in force.
func TestRevokeByReload(t *testing.T) {
	root, ca, ts := crlFleet(t, "h1 -\nh2 -\n")
	h1 := resumingClient(t, root, ts, "h1")
	if st, err := h1(); err != nil || st.DidResume {
		t.Fatalf("h1 before the revocation: resumed %v, %v", st != nil && st.DidResume, err)
	}
	if st, err := h1(); err != nil || !st.DidResume {
		t.Fatalf("h1 again: resumed %v, %v; want a resumed session", st != nil && st.DidResume, err)
	}

	ca.crl("crl.pem", time.Now().Add(time.Hour), true, "h1")
	if err := ts.tls.Reload(); err != nil {
		t.Fatal(err)
	}
	_, err := h1()
	ts.wantRevoked(t, root, "h1 resuming after the revocation", err, "h1", "h1", 1)
	_, err = ts.send(t, root, agentSettings("h1"), "h1", "")
	ts.wantRevoked(t, root, "h1 after the revocation", err, "h1", "h1", 2)

	// A CRL that revokes nothing but is out of date does not undo it.
	ca.crl("crl.pem", time.Now().Add(-time.Minute), false)
	if err := ts.tls.Reload(); err == nil || !strings.Contains(err.Error(), "model.tls_client_crl /etc/storagegrid/tls/crl.pem") {
		t.Fatalf("reload with an out-of-date CRL: %v", err)
	}
	_, err = ts.send(t, root, agentSettings("h1"), "h1", "")
	ts.wantRevoked(t, root, "h1 after a failed reload", err, "h1", "h1", 3)
	if _, err := ts.send(t, root, agentSettings("h2"), "h2", ""); err != nil {
		t.Fatalf("h2 after a failed reload: %v", err)
	}
}

// resumingClient is a client presenting NAME.crt that keeps TLS session
// tickets, one new connection a request; each call asks the server once
// and returns the connection's state.
func resumingClient(t *testing.T, root string, ts *tlsServer, name string) func() (*tls.ConnectionState, error) {
	t.Helper()
	a := agentSettings(name)
	cert, err := tls.LoadX509KeyPair(filepath.Join(root, a.TLSCert), filepath.Join(root, a.TLSKey))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(readCert(t, root, "ca"))
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{
		RootCAs: pool, Certificates: []tls.Certificate{cert}, ClientSessionCache: tls.NewLRUClientSessionCache(1)}}}
	return func() (*tls.ConnectionState, error) {
		resp, err := c.Get(ts.url + "/api/v1/hosts")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.TLS, nil
	}
}

// TestCRLRefusedAtLoad: a CRL the client CA did not sign, one out of
// date, and a file without a CRL are refused before anything listens,
// with the setting and the path as the settings spell them.
func TestCRLRefusedAtLoad(t *testing.T) {
	root := t.TempDir()
	ca := fleetPKI(t, root)
	next := time.Now().Add(-time.Minute)
	ca.crl("stale.pem", next, false)
	newTestCA(t, root, "other-ca").crl("other.pem", time.Now().Add(time.Hour), false)
	os.WriteFile(filepath.Join(root, tlsPath("junk.pem")), []byte("not a CRL\n"), 0o644)
	for file, want := range map[string]string{
		"other.pem":  "model.tls_client_crl /etc/storagegrid/tls/other.pem: CRL 1 (issuer CN=other-ca) is not signed by a CA of model.tls_client_ca /etc/storagegrid/tls/ca.crt",
		"stale.pem":  "model.tls_client_crl /etc/storagegrid/tls/stale.pem: CRL 1 (issuer CN=ca) is out of date since its NextUpdate " + stamp(next) + "; issue a fresh one",
		"ca.crt":     `model.tls_client_crl /etc/storagegrid/tls/ca.crt holds no CRL (PEM "X509 CRL" blocks or one DER CRL)`,
		"junk.pem":   `model.tls_client_crl /etc/storagegrid/tls/junk.pem holds no CRL (PEM "X509 CRL" blocks or one DER CRL): x509: malformed crl`,
		"absent.pem": "model.tls_client_crl /etc/storagegrid/tls/absent.pem: no such file or directory",
	} {
		m := mtlsSettings()
		m.TLSClientCRL = tlsPath(file)
		if _, err := LoadServerTLS(m, hostpath.Root(root)); err == nil || err.Error() != want {
			t.Errorf("%s: %v\nwant %s", file, err, want)
		}
	}
	m := mtlsSettings()
	m.TLSClientCA, m.TLSClientCRL = "", tlsPath("stale.pem")
	if _, err := LoadServerTLS(m, hostpath.Root(root)); err == nil || err.Error() != "model.tls_client_crl needs model.tls_client_ca" {
		t.Fatalf("CRL without a client CA: %v", err)
	}
}

// TestCRLOutOfDateOrMissing: a CRL that goes out of date after it was
// loaded, or a client CA without a CRL, cannot vouch for a certificate:
// the handshake check refuses it rather than let it through.
func TestCRLOutOfDateOrMissing(t *testing.T) {
	root := t.TempDir()
	ca := fleetPKI(t, root)
	ca.crl("crl.pem", time.Now().Add(-time.Minute), false, "h3")
	cas := []*x509.Certificate{ca.cert, readCert(t, root, "rogue-ca")}
	crl := tlsfiles.File{Key: "model.tls_client_crl", Path: tlsPath("crl.pem")}
	rev, err := loadRevocations(hostpath.Root(root), crl, tlsfiles.File{}, cas, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	chain := func(leaf, issuer string) tls.ConnectionState {
		return tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{readCert(t, root, leaf), readCert(t, root, issuer)}}}
	}
	for _, c := range []struct{ leaf, issuer, want string }{
		{"h1", "ca", "(CN h1): model.tls_client_crl /etc/storagegrid/tls/crl.pem: the CRL of CN=ca is out of date since its NextUpdate"},
		{"rogue", "rogue-ca", "(CN h1): model.tls_client_crl /etc/storagegrid/tls/crl.pem holds no CRL of its issuer CN=rogue-ca"},
	} {
		if err := rev.verifyConnection(chain(c.leaf, c.issuer)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.leaf, err, c.want)
		}
	}
	if err := rev.verifyConnection(tls.ConnectionState{}); err == nil {
		t.Error("no verified chain: accepted")
	}
}
