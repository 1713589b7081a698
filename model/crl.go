package model

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/tlsfiles"
)

// Certificate revocation for mutual TLS: model.tls_client_crl cuts off a
// client certificate (a stolen agent's) before it expires, without a new
// client CA. Only the client's own certificate is checked, against the
// CRL of the CA that signed it.

// revocations is what the CRLs of model.tls_client_crl say, by the CA
// that signed them.
type revocations struct {
	file     tlsfiles.File
	byIssuer map[string]*issuerCRL
}

// issuerCRL is what one CA's CRLs say: the serial numbers revoked, and
// when the newest of them was issued and goes out of date (zero: it does
// not say).
type issuerCRL struct {
	serials                map[string]bool
	thisUpdate, nextUpdate time.Time
}

// issuerKey identifies a CA by its name and key, which its certificates
// and CRLs are signed under, so that a re-issued copy of the CA
// certificate in a verified chain finds the same CRL.
func issuerKey(ca *x509.Certificate) string {
	return string(ca.RawSubject) + string(ca.RawSubjectPublicKeyInfo)
}

// loadRevocations reads the CRLs of crl and checks each was signed by
// one of cas, the certificates of model.tls_client_ca (ca), and is not
// out of date at now: a stale CRL cannot say what was revoked since, so
// it is refused rather than trusted.
func loadRevocations(root hostpath.Root, crl, ca tlsfiles.File, cas []*x509.Certificate, now time.Time) (*revocations, error) {
	crls, err := readCRLs(root, crl)
	if err != nil {
		return nil, err
	}
	r := &revocations{file: crl, byIssuer: map[string]*issuerCRL{}}
	for i, l := range crls {
		issuer := crlIssuer(l, cas)
		if issuer == nil {
			return nil, fmt.Errorf("%s %s: CRL %d (issuer %s) is not signed by a CA of %s %s", crl.Key, crl.Path, i+1, l.Issuer, ca.Key, ca.Path)
		}
		if outOfDate(l.NextUpdate, now) {
			return nil, fmt.Errorf("%s %s: CRL %d (issuer %s) is out of date since its NextUpdate %s; issue a fresh one",
				crl.Key, crl.Path, i+1, l.Issuer, stamp(l.NextUpdate))
		}
		r.add(issuerKey(issuer), l)
	}
	return r, nil
}

// readCRLs parses the CRLs in f: PEM blocks "X509 CRL", which openssl
// writes, or a file that is one DER CRL, which CAs publish.
func readCRLs(root hostpath.Root, f tlsfiles.File) ([]*x509.RevocationList, error) {
	data, err := f.Read(root, false)
	if err != nil {
		return nil, err
	}
	ders, sawPEM := crlBlocks(data)
	if !sawPEM && len(data) > 0 {
		ders = [][]byte{data}
	}
	noCRL := fmt.Sprintf("%s %s holds no CRL (PEM \"X509 CRL\" blocks or one DER CRL)", f.Key, f.Path)
	if len(ders) == 0 {
		return nil, errors.New(noCRL)
	}
	var out []*x509.RevocationList
	for i, der := range ders {
		l, err := x509.ParseRevocationList(der)
		switch {
		case err != nil && !sawPEM:
			return nil, fmt.Errorf("%s: %w%s", noCRL, err, versionHint(err))
		case err != nil:
			return nil, fmt.Errorf("%s %s: CRL %d: %w%s", f.Key, f.Path, i+1, err, versionHint(err))
		}
		out = append(out, l)
	}
	return out, nil
}

// versionHint explains crypto/x509's refusal of a version 1 CRL, which
// openssl ca writes unless told to number its CRLs.
func versionHint(err error) string {
	if !strings.Contains(err.Error(), "unsupported crl version") {
		return ""
	}
	return " (only version 2 CRLs are read; openssl ca writes them when its configuration names a crlnumber file)"
}

// crlBlocks are the contents of the "X509 CRL" blocks of data, and
// whether data holds any PEM block at all.
func crlBlocks(data []byte) (ders [][]byte, sawPEM bool) {
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return ders, sawPEM
		}
		sawPEM = true
		if b.Type == "X509 CRL" {
			ders = append(ders, b.Bytes)
		}
	}
}

// crlIssuer is the CA of cas that signed l, nil if none did.
func crlIssuer(l *x509.RevocationList, cas []*x509.Certificate) *x509.Certificate {
	for _, ca := range cas {
		if bytes.Equal(l.RawIssuer, ca.RawSubject) && l.CheckSignatureFrom(ca) == nil {
			return ca
		}
	}
	return nil
}

// add merges l into what its issuer's CRLs say. A serial number revoked
// by any of them stays revoked; the newest says how long they hold.
func (r *revocations) add(issuer string, l *x509.RevocationList) {
	c := r.byIssuer[issuer]
	if c == nil {
		c = &issuerCRL{serials: map[string]bool{}, thisUpdate: l.ThisUpdate, nextUpdate: l.NextUpdate}
		r.byIssuer[issuer] = c
	}
	for _, e := range l.RevokedCertificateEntries {
		c.serials[e.SerialNumber.String()] = true
	}
	if l.ThisUpdate.After(c.thisUpdate) {
		c.thisUpdate, c.nextUpdate = l.ThisUpdate, l.NextUpdate
	}
}

// verifyConnection refuses a verified client certificate that its
// issuer's CRL revokes. It also refuses one whose issuer has no CRL in
// the file, or whose CRL has gone out of date since the last reload:
// either way nobody can say it was not revoked. As a VerifyConnection
// callback it runs on resumed sessions too, so a ticket issued before a
// revocation does not outlive it.
func (r *revocations) verifyConnection(st tls.ConnectionState) error {
	if len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return fmt.Errorf("no verified client certificate to check against %s", r.file.Key)
	}
	chain := st.VerifiedChains[0]
	leaf, issuer := chain[0], chain[min(1, len(chain)-1)]
	who := fmt.Sprintf("client certificate serial %s (CN %s)", hexSerial(leaf.SerialNumber), leaf.Subject.CommonName)
	c := r.byIssuer[issuerKey(issuer)]
	switch {
	case c == nil:
		return fmt.Errorf("%s: %s %s holds no CRL of its issuer %s", who, r.file.Key, r.file.Path, issuer.Subject)
	case outOfDate(c.nextUpdate, time.Now()):
		return fmt.Errorf("%s: %s %s: the CRL of %s is out of date since its NextUpdate %s; install a fresh one and reload",
			who, r.file.Key, r.file.Path, issuer.Subject, stamp(c.nextUpdate))
	case c.serials[leaf.SerialNumber.String()]:
		return fmt.Errorf("%s is revoked (%s)", who, r.file.Key)
	}
	return nil
}

// outOfDate reports whether a CRL with this NextUpdate has been
// superseded at now; a CRL without one (RFC 5280 allows it in old CRLs)
// never is, as openssl has it.
func outOfDate(nextUpdate, now time.Time) bool {
	return !nextUpdate.IsZero() && now.After(nextUpdate)
}

// hexSerial is a serial number as openssl prints it (whole bytes in
// hex), so that an operator finds the certificate and its CRL entry.
func hexSerial(n *big.Int) string {
	s := fmt.Sprintf("%X", n)
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
