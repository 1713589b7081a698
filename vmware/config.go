package vmware

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vmware/govmomi/vim25/soap"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// Source is one layer of connection settings: the command line, the govc
// environment, or storagegrid.toml. Empty fields are "not set here", so
// Resolve can take each field from the first layer that sets it.
type Source struct {
	Name       string // what to call this layer in errors: "--url", "GOVC_URL", ...
	URL        string
	Username   string
	Password   string
	Insecure   *bool
	Thumbprint string
}

// Config is a resolved connection: where, who, and how to trust the
// server's certificate.
type Config struct {
	URL        *url.URL // https://host/sdk, never with user info
	Username   string
	Password   string
	Insecure   bool
	Thumbprint string        // SHA-1 or SHA-256, colon-separated hex; pins the certificate
	Timeout    time.Duration // each call's deadline; 0 means DefaultTimeout
}

// EnvSource reads the govc variables GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD
// and GOVC_INSECURE through getenv, so existing govc set-ups work.
func EnvSource(getenv func(string) string) (Source, error) {
	s := Source{
		Name:     "GOVC_URL",
		URL:      getenv("GOVC_URL"),
		Username: getenv("GOVC_USERNAME"),
		Password: getenv("GOVC_PASSWORD"),
	}
	if v := getenv("GOVC_INSECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, fail.Usagef("GOVC_INSECURE=%q: want true or false (1 or 0)", v)
		}
		s.Insecure = &b
	}
	return s, nil
}

// Resolve takes each setting from the first layer that sets it (so pass
// flags, then environment, then settings file). A user name or password
// embedded in the URL (govc style, user:pass@host) counts only when no
// layer sets them explicitly.
func Resolve(layers ...Source) (Config, error) {
	var cfg Config
	var raw, from string
	insecureSet := false
	for _, l := range layers {
		if raw == "" && l.URL != "" {
			raw, from = l.URL, l.Name
		}
		if cfg.Username == "" {
			cfg.Username = l.Username
		}
		if cfg.Password == "" {
			cfg.Password = l.Password
		}
		if cfg.Thumbprint == "" {
			cfg.Thumbprint = l.Thumbprint
		}
		if !insecureSet && l.Insecure != nil {
			cfg.Insecure, insecureSet = *l.Insecure, true
		}
	}
	if raw == "" {
		return cfg, fail.Usagef("no vSphere URL: pass --url, set GOVC_URL, or set url in the [vmware] section of storagegrid.toml")
	}
	rest, user, pass, hasUser := splitUserInfo(raw)
	u, err := parseURL(rest)
	if err != nil {
		return cfg, fail.Usagef("%s %q: %v", from, rest, err) // rest: the URL without its user info
	}
	if hasUser {
		if cfg.Username == "" {
			cfg.Username = user
		}
		if cfg.Password == "" {
			cfg.Password = pass
		}
	}
	cfg.URL = u
	if cfg.Username == "" {
		return cfg, fail.Usagef("no vSphere user name: pass --username, set GOVC_USERNAME, or set username in the [vmware] section of storagegrid.toml")
	}
	if cfg.Password == "" {
		return cfg, fail.Usagef("no vSphere password for %s: pass --password-file, set GOVC_PASSWORD, or set password_file in the [vmware] section of storagegrid.toml", cfg.Username)
	}
	if cfg.Thumbprint != "" {
		tp, err := normalizeThumbprint(cfg.Thumbprint)
		if err != nil {
			return cfg, fail.With(fail.Usage, err)
		}
		cfg.Thumbprint = tp
	}
	return cfg, nil
}

// splitUserInfo cuts the user info off a URL as typed, by its structure:
// it lies between the scheme's "//" (or the start) and the last '@',
// which no host name, port or vSphere path holds. A password may hold any
// character ('#', '/', '?', '@', spaces), so the cut is not left to a URL
// parser, which stops at the first '#' or '/' and would then quote the
// password in its error. The user and password are percent-decoded when
// they are validly encoded, else taken as typed.
func splitUserInfo(raw string) (rest, user, pass string, ok bool) {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + 3
	}
	at := strings.LastIndexByte(raw, '@')
	if at < start {
		return raw, "", "", false
	}
	info := raw[start:at]
	user, pass, _ = strings.Cut(info, ":")
	for _, p := range []*string{&user, &pass} {
		if d, err := url.PathUnescape(*p); err == nil {
			*p = d
		}
	}
	return raw[:start] + raw[at+1:], user, pass, true
}

// parseURL accepts what govc accepts: "host", "host:port", "https://host/sdk",
// optionally with user info. Its errors never quote the URL, which may
// hold a password.
func parseURL(raw string) (*url.URL, error) {
	u, err := soap.ParseURL(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a valid URL: %v", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("scheme %q: want https", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("no host name")
	}
	if u.User != nil && u.User.Username() == "" {
		if p, _ := u.User.Password(); p == "" {
			u.User = nil // soap.ParseURL's placeholder, or an empty "@"
		}
	}
	return u, nil
}

// normalizeThumbprint accepts SHA-1 (20 bytes) or SHA-256 (32 bytes) hex,
// with or without colons, in any case, and returns govmomi's form.
func normalizeThumbprint(tp string) (string, error) {
	hex := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(tp), ":", ""))
	if len(hex) != 40 && len(hex) != 64 {
		return "", fmt.Errorf("--thumbprint %q: want a SHA-1 or SHA-256 fingerprint (40 or 64 hex digits, colons optional)", tp)
	}
	var b strings.Builder
	for i := 0; i < len(hex); i += 2 {
		if !isHex(hex[i]) || !isHex(hex[i+1]) {
			return "", fmt.Errorf("--thumbprint %q: %q is not hexadecimal", tp, hex[i:i+2])
		}
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(hex[i : i+2])
	}
	return b.String(), nil
}

func isHex(c byte) bool { return ('0' <= c && c <= '9') || ('A' <= c && c <= 'F') }
