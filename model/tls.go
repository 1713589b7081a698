package model

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/settings"
)

// Mutual TLS between agents, the model server and its query clients. Every
// certificate, key and CA is a PEM file named by a setting; errors name
// the setting and the path as the settings spell it, never the sandbox
// path under --root.

// pemSetting is a PEM file named by a setting.
type pemSetting struct{ key, path string }

// read returns the file's contents. A key (secret) must not be readable
// by group or others, like every other secret the tool reads.
func (p pemSetting) read(root hostpath.Root, secret bool) ([]byte, error) {
	full := root.Join(p.path)
	if secret {
		fi, err := os.Stat(full)
		if err != nil {
			return nil, p.wrap(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%s %s: mode %04o lets others read the key; chmod 600 %s", p.key, p.path, fi.Mode().Perm(), p.path)
		}
	}
	data, err := os.ReadFile(full)
	if err != nil {
		return nil, p.wrap(err)
	}
	return data, nil
}

func (p pemSetting) wrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s %s: %w", p.key, p.path, err)
}

// keyPair loads a certificate and its private key.
func keyPair(root hostpath.Root, cert, key pemSetting) (tls.Certificate, error) {
	if (cert.path == "") != (key.path == "") {
		return tls.Certificate{}, fmt.Errorf("%s and %s go together", cert.key, key.key)
	}
	certPEM, err := cert.read(root, false)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := key.read(root, true)
	if err != nil {
		return tls.Certificate{}, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return c, fmt.Errorf("%s %s, %s %s: %w", cert.key, cert.path, key.key, key.path, err)
	}
	return c, nil
}

// certPool reads a bundle of CA certificates.
func certPool(root hostpath.Root, ca pemSetting) (*x509.CertPool, error) {
	data, err := ca.read(root, false)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s %s holds no PEM certificate", ca.key, ca.path)
	}
	return pool, nil
}

// clientTLS is the configuration of a client that trusts the CAs in ca
// (the system's when unset) and presents cert when set. Nil when neither
// is set: the defaults serve.
func clientTLS(root hostpath.Root, cert, key, ca pemSetting) (*tls.Config, error) {
	if cert.path == "" && key.path == "" && ca.path == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cert.path != "" || key.path != "" {
		c, err := keyPair(root, cert, key)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	if ca.path != "" {
		pool, err := certPool(root, ca)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func tlsTransport(cfg *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	return t
}

// AgentClient is the HTTP client an agent ships with, from the [agent]
// settings: it trusts agent.tls_ca for the server's certificate and
// presents agent.tls_cert (mutual TLS) when set.
func AgentClient(a settings.Agent, root hostpath.Root) (*http.Client, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	cfg, err := clientTLS(root, pemSetting{"agent.tls_cert", a.TLSCert}, pemSetting{"agent.tls_key", a.TLSKey}, pemSetting{"agent.tls_ca", a.TLSCA})
	if err != nil || cfg == nil {
		return c, err
	}
	c.Transport = tlsTransport(cfg)
	return c, nil
}

// ServerTLS is the model server's TLS configuration: its certificate and,
// for mutual TLS, the CA of the client certificates. Reload reads the
// files again; handshakes after it use the new ones, connections already
// open keep theirs.
type ServerTLS struct {
	root                hostpath.Root
	cert, key, clientCA pemSetting
	cur                 atomic.Pointer[tls.Config]
}

// LoadServerTLS reads model.tls_cert, model.tls_key and model.tls_client_ca.
// It returns nil when model.tls_cert is not set: the server speaks plain
// HTTP.
func LoadServerTLS(m settings.Model, root hostpath.Root) (*ServerTLS, error) {
	if m.TLSCert == "" && m.TLSKey == "" {
		if m.TLSClientCA != "" {
			return nil, errors.New("model.tls_client_ca needs model.tls_cert and model.tls_key")
		}
		return nil, nil
	}
	s := &ServerTLS{root: root, cert: pemSetting{"model.tls_cert", m.TLSCert}, key: pemSetting{"model.tls_key", m.TLSKey},
		clientCA: pemSetting{"model.tls_client_ca", m.TLSClientCA}}
	return s, s.Reload()
}

// Reload reads the certificate, key and client CA again. On error the
// configuration in use stays.
func (s *ServerTLS) Reload() error {
	cert, err := keyPair(s.root, s.cert, s.key)
	if err != nil {
		return err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if s.RequiresClientCerts() {
		if cfg.ClientCAs, err = certPool(s.root, s.clientCA); err != nil {
			return err
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	s.cur.Store(cfg)
	return nil
}

// RequiresClientCerts reports whether every client must present a
// certificate signed by model.tls_client_ca.
func (s *ServerTLS) RequiresClientCerts() bool { return s != nil && s.clientCA.path != "" }

// Listener wraps ln so that every connection speaks TLS with the latest
// loaded configuration.
func (s *ServerTLS) Listener(ln net.Listener) net.Listener {
	return tls.NewListener(ln, &tls.Config{
		MinVersion:         tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return s.cur.Load(), nil },
	})
}

// certHosts are the host identities a verified client certificate
// vouches for: its subject common name and its DNS names.
func certHosts(st *tls.ConnectionState) []string {
	if st == nil || len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return nil
	}
	leaf := st.VerifiedChains[0][0]
	var out []string
	if leaf.Subject.CommonName != "" {
		out = append(out, leaf.Subject.CommonName)
	}
	return append(out, leaf.DNSNames...)
}
