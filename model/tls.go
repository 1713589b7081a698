package model

import (
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/tlsfiles"
	"github.com/storagegrid/storagegrid/settings"
)

// Mutual TLS between agents, the model server and its query clients; the
// PEM files are read by internal/tlsfiles.

// ServerTLS is the model server's TLS configuration: its certificate and,
// for mutual TLS, the CA of the client certificates. Reload reads the
// files again; handshakes after it use the new ones, connections already
// open keep theirs.
type ServerTLS struct {
	root                hostpath.Root
	cert, key, clientCA tlsfiles.File
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
	s := &ServerTLS{root: root, cert: tlsfiles.File{Key: "model.tls_cert", Path: m.TLSCert}, key: tlsfiles.File{Key: "model.tls_key", Path: m.TLSKey},
		clientCA: tlsfiles.File{Key: "model.tls_client_ca", Path: m.TLSClientCA}}
	return s, s.Reload()
}

// Reload reads the certificate, key and client CA again. On error the
// configuration in use stays.
func (s *ServerTLS) Reload() error {
	cert, err := tlsfiles.KeyPair(s.root, s.cert, s.key)
	if err != nil {
		return err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if s.RequiresClientCerts() {
		if cfg.ClientCAs, err = tlsfiles.CertPool(s.root, s.clientCA); err != nil {
			return err
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	s.cur.Store(cfg)
	return nil
}

// RequiresClientCerts reports whether every client must present a
// certificate signed by model.tls_client_ca.
func (s *ServerTLS) RequiresClientCerts() bool { return s != nil && s.clientCA.Path != "" }

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
