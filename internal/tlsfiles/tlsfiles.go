// Package tlsfiles loads the TLS certificates, keys and CA bundles that
// storagegrid.toml names, for the agent, the model server and its query
// clients. It lives apart from both so that the agent's binary need not
// link the model server (and its SQLite engine) to speak TLS. Errors name
// the setting and the path as the settings spell it, never the sandbox
// path under --root.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// File is a PEM file named by a setting: Key is the setting
// ("agent.tls_cert"), Path its value; an empty Path means unset.
type File struct{ Key, Path string }

// Read returns the file's contents. A secret (a private key) must not be
// readable by group or others, like every other secret the tool reads.
func (f File) Read(root hostpath.Root, secret bool) ([]byte, error) {
	full := root.Join(f.Path)
	if secret {
		fi, err := os.Stat(full)
		if err != nil {
			return nil, f.wrap(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%s %s: mode %04o lets others read the key; chmod 600 %s", f.Key, f.Path, fi.Mode().Perm(), f.Path)
		}
	}
	data, err := os.ReadFile(full)
	if err != nil {
		return nil, f.wrap(err)
	}
	return data, nil
}

func (f File) wrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s %s: %w", f.Key, f.Path, err)
}

// KeyPair loads a certificate and its private key; both or neither must
// be set.
func KeyPair(root hostpath.Root, cert, key File) (tls.Certificate, error) {
	if (cert.Path == "") != (key.Path == "") {
		return tls.Certificate{}, fmt.Errorf("%s and %s go together", cert.Key, key.Key)
	}
	certPEM, err := cert.Read(root, false)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := key.Read(root, true)
	if err != nil {
		return tls.Certificate{}, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return c, fmt.Errorf("%s %s, %s %s: %w", cert.Key, cert.Path, key.Key, key.Path, err)
	}
	return c, nil
}

// CertPool reads a bundle of CA certificates.
func CertPool(root hostpath.Root, ca File) (*x509.CertPool, error) {
	certs, err := CACerts(root, ca)
	if err != nil {
		return nil, err
	}
	return Pool(certs), nil
}

// CACerts reads a bundle of CA certificates, for a caller that checks
// more than chains against them (the CRLs they sign). Like
// x509.CertPool.AppendCertsFromPEM it skips PEM blocks that are not
// certificates, so that both read a bundle alike.
func CACerts(root hostpath.Root, ca File) ([]*x509.Certificate, error) {
	data, err := ca.Read(root, false)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" || len(b.Headers) != 0 {
			continue
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			certs = append(certs, c)
		}
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s %s holds no PEM certificate", ca.Key, ca.Path)
	}
	return certs, nil
}

// Pool makes certs the CAs a tls.Config verifies chains against.
func Pool(certs []*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}

// ClientConfig is the configuration of a client that trusts the CAs in
// ca (the system's when unset) and presents cert when set. Nil when none
// is set: the defaults serve.
func ClientConfig(root hostpath.Root, cert, key, ca File) (*tls.Config, error) {
	if cert.Path == "" && key.Path == "" && ca.Path == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cert.Path != "" || key.Path != "" {
		c, err := KeyPair(root, cert, key)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	if ca.Path != "" {
		pool, err := CertPool(root, ca)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Transport is http.DefaultTransport's settings with cfg.
func Transport(cfg *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	return t
}
