package model

import (
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/tlsfiles"
	"github.com/storagegrid/storagegrid/settings"
)

// Mutual TLS between agents, the model server and its query clients; the
// PEM files are read by internal/tlsfiles.

// ServerTLS is the model server's TLS configuration: its certificate and,
// for mutual TLS, the CA of the client certificates and the CRLs that
// revoke some of them. Reload reads the files again; handshakes after it
// use the new ones, connections already open keep theirs.
type ServerTLS struct {
	root                           hostpath.Root
	cert, key, clientCA, clientCRL tlsfiles.File
	cur                            atomic.Pointer[tls.Config]
}

// LoadServerTLS reads model.tls_cert, model.tls_key, model.tls_client_ca
// and model.tls_client_crl. It returns nil when model.tls_cert is not
// set: the server speaks plain HTTP.
func LoadServerTLS(m settings.Model, root hostpath.Root) (*ServerTLS, error) {
	if m.TLSClientCRL != "" && m.TLSClientCA == "" {
		return nil, errors.New("model.tls_client_crl needs model.tls_client_ca")
	}
	if m.TLSCert == "" && m.TLSKey == "" {
		if m.TLSClientCA != "" {
			return nil, errors.New("model.tls_client_ca needs model.tls_cert and model.tls_key")
		}
		return nil, nil
	}
	s := &ServerTLS{root: root, cert: tlsfiles.File{Key: "model.tls_cert", Path: m.TLSCert}, key: tlsfiles.File{Key: "model.tls_key", Path: m.TLSKey},
		clientCA: tlsfiles.File{Key: "model.tls_client_ca", Path: m.TLSClientCA}, clientCRL: tlsfiles.File{Key: "model.tls_client_crl", Path: m.TLSClientCRL}}
	return s, s.Reload()
}

// Reload reads the certificate, key, client CA and CRLs again. On error
// the configuration in use stays, revocations included.
func (s *ServerTLS) Reload() error {
	cert, err := tlsfiles.KeyPair(s.root, s.cert, s.key)
	if err != nil {
		return err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if s.RequiresClientCerts() {
		if err := s.loadClientAuth(cfg); err != nil {
			return err
		}
	}
	s.cur.Store(cfg)
	return nil
}

// loadClientAuth makes cfg require client certificates of the client
// CA that no CRL of model.tls_client_crl revokes. The CRLs travel in cfg
// (its VerifyConnection) so that each handshake sees the CA and the CRLs
// of one and the same reload.
func (s *ServerTLS) loadClientAuth(cfg *tls.Config) error {
	cas, err := tlsfiles.CACerts(s.root, s.clientCA)
	if err != nil {
		return err
	}
	cfg.ClientCAs, cfg.ClientAuth = tlsfiles.Pool(cas), tls.RequireAndVerifyClientCert
	if s.clientCRL.Path == "" {
		return nil
	}
	rev, err := loadRevocations(s.root, s.clientCRL, s.clientCA, cas, time.Now())
	if err != nil {
		return err
	}
	cfg.VerifyConnection = rev.verifyConnection
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
