package model

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"strings"

	"github.com/storagegrid/storagegrid/wire"
)

// Tokens maps bearer tokens to the hosts they belong to. Only SHA-256
// digests are kept in memory; looking a digest up in a map leaks nothing
// useful about the token through timing.
type Tokens struct {
	byDigest map[[32]byte]string
}

const minTokenLen = 16

// LoadTokens reads a tokens file: one "HOST TOKEN" pair a line, '#'
// comments and blank lines ignored. The file holds secrets, so it must
// not be readable by group or others.
func LoadTokens(path string) (*Tokens, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("tokens file %s: mode %04o lets others read it; chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	return ParseTokens(path, data)
}

// ParseTokens parses the contents of a tokens file named name.
func ParseTokens(name string, data []byte) (*Tokens, error) {
	t := &Tokens{byDigest: map[[32]byte]string{}}
	hosts := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"HOST TOKEN\"", name, n)
		}
		host, tok := f[0], f[1]
		if err := wire.ValidHostID(host); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if len(tok) < minTokenLen {
			return nil, fmt.Errorf("%s:%d: token of host %s is shorter than %d characters", name, n, host, minTokenLen)
		}
		if hosts[host] {
			return nil, fmt.Errorf("%s:%d: host %s has a token already", name, n, host)
		}
		d := sha256.Sum256([]byte(tok))
		if other, dup := t.byDigest[d]; dup {
			return nil, fmt.Errorf("%s:%d: host %s has the same token as host %s", name, n, host, other)
		}
		hosts[host], t.byDigest[d] = true, host
	}
	return t, sc.Err()
}

// Host returns the host a token belongs to.
func (t *Tokens) Host(token string) (string, bool) {
	if t == nil || token == "" {
		return "", false
	}
	h, ok := t.byDigest[sha256.Sum256([]byte(token))]
	return h, ok
}

// Len is the number of hosts with a token.
func (t *Tokens) Len() int { return len(t.byDigest) }

// ReadTokenFile reads a single secret (a client's query token, an agent's
// host token) from a file, refusing files others can read.
func ReadTokenFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("token file %s: mode %04o lets others read it; chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if len(tok) < minTokenLen || strings.ContainsAny(tok, " \t\n") {
		return "", fmt.Errorf("token file %s: want one token of at least %d characters", path, minTokenLen)
	}
	return tok, nil
}
