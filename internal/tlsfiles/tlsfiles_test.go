package tlsfiles

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// writePair writes a self-signed certificate and its key under root at
// /etc/pki/NAME.crt and NAME.key, the key with mode keyMode.
func writePair(t *testing.T, root, name string, keyMode os.FileMode) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "etc/pki")
	os.MkdirAll(dir, 0o755)
	write(t, filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	write(t, filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), keyMode)
}

func write(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestClientConfigLoadsPairAndCA(t *testing.T) {
	root := t.TempDir()
	writePair(t, root, "agent", 0o600)
	cfg, err := ClientConfig(hostpath.Root(root), File{"a.cert", "/etc/pki/agent.crt"}, File{"a.key", "/etc/pki/agent.key"}, File{"a.ca", "/etc/pki/agent.crt"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Certificates) != 1 || cfg.RootCAs == nil {
		t.Fatalf("config %+v: want one certificate and a CA pool", cfg)
	}
	if cfg, err := ClientConfig(hostpath.Root(root), File{Key: "a.cert"}, File{Key: "a.key"}, File{Key: "a.ca"}); cfg != nil || err != nil {
		t.Fatalf("nothing set: got %v, %v; want the defaults (nil, nil)", cfg, err)
	}
}

func TestErrorsNameTheSettingAndPath(t *testing.T) {
	root := t.TempDir()
	writePair(t, root, "loose", 0o644)
	write(t, filepath.Join(root, "etc/pki/junk.pem"), []byte("not a certificate\n"), 0o644)
	r := hostpath.Root(root)
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"key readable by others", func() error {
			_, err := KeyPair(r, File{"x.cert", "/etc/pki/loose.crt"}, File{"x.key", "/etc/pki/loose.key"})
			return err
		}, "x.key /etc/pki/loose.key: mode 0644 lets others read the key; chmod 600 /etc/pki/loose.key"},
		{"only a certificate", func() error {
			_, err := KeyPair(r, File{"x.cert", "/etc/pki/loose.crt"}, File{Key: "x.key"})
			return err
		}, "x.cert and x.key go together"},
		{"missing file", func() error {
			_, err := CertPool(r, File{"x.ca", "/etc/pki/none.crt"})
			return err
		}, "x.ca /etc/pki/none.crt: no such file or directory"},
		{"no PEM in the bundle", func() error {
			_, err := CertPool(r, File{"x.ca", "/etc/pki/junk.pem"})
			return err
		}, "x.ca /etc/pki/junk.pem holds no PEM certificate"},
	}
	for _, c := range cases {
		err := c.err()
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), root) {
			t.Errorf("%s: error shows the sandbox root: %v", c.name, err)
		}
	}
}
