// Package settings loads the host settings file, storagegrid.toml. Parsing
// is strict: a key the tool does not know is an error naming the key and
// its line, because a misspelt safety setting must not be silently ignored.
// Every setting has a default, and the file itself is optional.
package settings

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/BurntSushi/toml"
)

// DefaultPath is where the settings file lives on a host (under --root).
const DefaultPath = "/etc/storagegrid/storagegrid.toml"

// Settings is the whole settings file.
type Settings struct {
	Runtime Runtime `toml:"runtime"`
	Lease   Lease   `toml:"lease"`
	Devices Devices `toml:"devices"`
	Archive Archive `toml:"archive"`
	VMware  VMware  `toml:"vmware"`
	Agent   Agent   `toml:"agent"`
	Model   Model   `toml:"model"`
	Host    Host    `toml:"host"`
}

// Host places this host for the operator: the agent reports the values
// with the host entity, so the model can tell which hosts share a site,
// a room or a rack (and so a power feed or a top-of-rack switch). All
// are optional free text.
type Host struct {
	Site string `toml:"site"`
	Room string `toml:"room"`
	Rack string `toml:"rack"`
}

// maxPlacementLen bounds a placement value: a label, not a description.
const maxPlacementLen = 64

// Runtime chooses and tunes what runs a node's payload.
type Runtime struct {
	// Kind is "process" or "systemd". Empty means: systemd when the host
	// was booted with systemd, otherwise process.
	Kind        string   `toml:"kind"`
	StopTimeout Duration `toml:"stop_timeout"`
	Process     Process  `toml:"process"`
}

// Lease times the disk lease by which a host claims a node's var-local
// record (see node/lease.go and the README's "Who owns a node").
type Lease struct {
	// ClaimWait is how long a claimant waits between writing its claim and
	// reading it back. A claimant that took longer than half of it from
	// its first read to its write's completion does not trust its claim
	// and tries again; so every other claimant's write lands before the
	// read-back.
	ClaimWait Duration `toml:"claim_wait"`
	// RenewEvery is how often the owner of a running node rewrites its
	// claim; ExpireAfter how long a claim may go without renewal before
	// another host may take it (with --force only). Host clocks must agree
	// to well within ExpireAfter - RenewEvery (NTP).
	RenewEvery  Duration `toml:"renew_every"`
	ExpireAfter Duration `toml:"expire_after"`
}

// Process configures the process runtime.
type Process struct {
	// Payload is the command a node runs; "{node}" in any argument is
	// replaced by the node name. Empty means the built-in demo payload.
	Payload []string `toml:"payload"`
	// Settle is how long a payload must keep running before start calls
	// it running; one that ends sooner "exited at once".
	Settle Duration `toml:"settle"`
}

// Devices configures block-device handling.
type Devices struct {
	// AllowFiles lets BLOCK_DEVICE_* name a regular file. For sandboxes
	// and demos only; validate warns when it is on.
	AllowFiles bool `toml:"allow_files"`
}

// Archive configures the archive-node recovery tools.
type Archive struct {
	ADE           string  `toml:"ade"`            // host:port of the ADE console
	PromptPattern string  `toml:"prompt_pattern"` // regexp for the console prompt
	Dsmadmc       Dsmadmc `toml:"dsmadmc"`
}

// Dsmadmc configures the TSM administrative client.
type Dsmadmc struct {
	Path         string `toml:"path"`
	AdminID      string `toml:"admin_id"`
	PasswordFile string `toml:"password_file"`
}

// VMware configures the vSphere tools.
type VMware struct {
	URL          string   `toml:"url"`
	Username     string   `toml:"username"`
	PasswordFile string   `toml:"password_file"`
	Insecure     bool     `toml:"insecure"`
	Thumbprint   string   `toml:"thumbprint"`
	Pattern      string   `toml:"pattern"` // glob naming the grid-node VMs
	Timeout      Duration `toml:"timeout"` // each vSphere call's deadline; 0: the default (60 s)
}

// Agent configures the per-host agent.
type Agent struct {
	HostID        string   `toml:"host_id"`         // default: the hostname
	Interval      Duration `toml:"interval"`        // collection interval
	SpoolDir      string   `toml:"spool_dir"`       // host path
	SpoolMaxBytes int64    `toml:"spool_max_bytes"` // bound of the spool
	Server        string   `toml:"server"`          // model server URL; empty: spool only
	TokenFile     string   `toml:"token_file"`      // bearer token, mode 0600
	TLSCert       string   `toml:"tls_cert"`        // client certificate for mutual TLS
	TLSKey        string   `toml:"tls_key"`
	TLSCA         string   `toml:"tls_ca"` // CA of the model server
	MetricsListen string   `toml:"metrics_listen"`
	Enable        []string `toml:"enable"`  // collectors beyond the defaults
	Disable       []string `toml:"disable"` // collectors to turn off
}

// Model configures the model server (`model serve`) and its clients.
// Paths are host paths, resolved under --root.
type Model struct {
	// Listen is HOST:PORT, or unix:/PATH for a Unix socket.
	Listen string `toml:"listen"`
	// DB is the SQLite file (a host path), or a PostgreSQL database as a
	// postgres:// or postgresql:// URL without its password, which
	// DBPasswordFile holds (mode 0600), so that it is never in a
	// readable file or a process list.
	DB             string `toml:"db"`
	DBPasswordFile string `toml:"db_password_file"`
	// TokensFile holds one "HOST TOKEN" line per host allowed to ingest;
	// mode 0600.
	TokensFile string `toml:"tokens_file"`
	// QueryTokenFile, when set, holds the token queries must present.
	QueryTokenFile string `toml:"query_token_file"`
	// StaleAfter: what-if checks distrust a host silent for longer.
	StaleAfter Duration `toml:"stale_after"`
	// NodeStatesMaxAge: ok-to-stop and check-migrate distrust the node
	// states of a host not heard from for longer (agents post at least
	// every 2 s, and a node's state change at once).
	NodeStatesMaxAge Duration `toml:"node_states_max_age"`
	HistoryRetention Duration `toml:"history_retention"`
	MetricsRetention Duration `toml:"metrics_retention"`
	CompactEvery     Duration `toml:"compact_every"`
	// Server is the model server clients use (URL or unix:/PATH). When
	// set, `node migrate` runs check-migrate there first.
	Server string `toml:"server"`
	// ClientTokenFile holds the query token clients send, if any.
	ClientTokenFile string `toml:"client_token_file"`
	// TLSCert and TLSKey make the server listen with TLS (key mode 0600).
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// TLSClientCA, when set, makes the server require client
	// certificates signed by it; a certificate's common name or DNS
	// names say which hosts it may send for.
	TLSClientCA string `toml:"tls_client_ca"`
	// TLSClientCRL, when set, holds the CRLs of the client CA: a
	// certificate they revoke is refused although the CA signed it.
	TLSClientCRL string `toml:"tls_client_crl"`
	// TLSCA is the CA clients trust for the server's certificate (the
	// system's when empty); ClientTLSCert and ClientTLSKey are the
	// certificate clients present to a server that requires one.
	TLSCA         string `toml:"tls_ca"`
	ClientTLSCert string `toml:"client_tls_cert"`
	ClientTLSKey  string `toml:"client_tls_key"`
}

// Duration is a time.Duration written as "630s" or "10m".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (use a form like \"630s\" or \"10m\")", b)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: must not be negative", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration in Go's form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Defaults returns the settings used when the file or a key is absent.
func Defaults() Settings {
	return Settings{
		Runtime: Runtime{StopTimeout: Duration{630 * time.Second}, Process: Process{Settle: Duration{500 * time.Millisecond}}},
		Lease:   Lease{ClaimWait: Duration{600 * time.Millisecond}, RenewEvery: Duration{5 * time.Second}, ExpireAfter: Duration{30 * time.Second}},
		Archive: Archive{
			ADE:           "127.0.0.1:1409",
			PromptPattern: `ade [^:\r\n]*: /proc/[A-Za-z0-9_]+ >\s*$`,
			Dsmadmc:       Dsmadmc{Path: "/usr/bin/dsmadmc"},
		},
		VMware: VMware{Pattern: "*"},
		Model: Model{
			Listen:           "127.0.0.1:9470",
			DB:               "/var/lib/storagegrid/model/model.db",
			TokensFile:       "/etc/storagegrid/model/tokens",
			StaleAfter:       Duration{5 * time.Minute},
			NodeStatesMaxAge: Duration{5 * time.Second},
			HistoryRetention: Duration{366 * 24 * time.Hour},
			MetricsRetention: Duration{6 * time.Hour},
			CompactEvery:     Duration{time.Hour},
		},
		Agent: Agent{
			Interval:      Duration{15 * time.Second},
			SpoolDir:      "/var/lib/storagegrid/agent",
			SpoolMaxBytes: 256 << 20,
			MetricsListen: "127.0.0.1:9560",
		},
	}
}

// Load reads path over the defaults. When optional is true a missing file
// yields the defaults; otherwise it is an error.
func Load(path string, optional bool) (Settings, error) {
	return LoadAs(path, path, optional)
}

// LoadAs is Load for a file read at path but known to the operator as
// name: under --root the sandbox path means nothing to them, the host path
// does.
func LoadAs(path, name string, optional bool) (Settings, error) {
	s := Defaults()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && optional {
		return s, nil
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // its message repeats path
		}
		return s, fmt.Errorf("settings %s: %w", name, err)
	}
	if err := Parse(name, data, &s); err != nil {
		return Defaults(), err
	}
	return s, nil
}

// Parse decodes data (read from name) over s and checks the values.
func Parse(name string, data []byte, s *Settings) error {
	md, err := toml.Decode(string(data), s)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s:%d: %s", name, pe.Position.Line, pe.Message)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return fmt.Errorf("%s:%d: unknown setting %q", name, keyLine(data, k), k.String())
	}
	if err := s.Host.check(name, data); err != nil {
		return err
	}
	return s.check(name)
}

// check refuses placement values that would not read as one label in a
// report: control characters (a newline, a tab), other unprintable
// characters, or more than maxPlacementLen bytes.
func (h *Host) check(name string, data []byte) error {
	for _, kv := range []struct{ key, v string }{{"site", h.Site}, {"room", h.Room}, {"rack", h.Rack}} {
		var why string
		switch {
		case len(kv.v) > maxPlacementLen:
			why = fmt.Sprintf("longer than %d bytes", maxPlacementLen)
		case strings.IndexFunc(kv.v, unicode.IsControl) >= 0:
			why = "contains a control character"
		case strings.IndexFunc(kv.v, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
			why = "contains a character that is not printable"
		default:
			continue
		}
		return fmt.Errorf("%s:%d: host.%s = %q: %s", name, keyLine(data, toml.Key{"host", kv.key}), kv.key, kv.v, why)
	}
	return nil
}

func (s *Settings) check(name string) error {
	switch s.Runtime.Kind {
	case "", "process", "systemd":
	default:
		return fmt.Errorf("%s: runtime.kind = %q: must be \"process\" or \"systemd\"", name, s.Runtime.Kind)
	}
	if s.Runtime.StopTimeout.Duration <= 0 {
		return fmt.Errorf("%s: runtime.stop_timeout must be positive", name)
	}
	if l := s.Lease; l.ClaimWait.Duration < 2*time.Millisecond || l.RenewEvery.Duration <= 0 ||
		l.ExpireAfter.Duration < 3*l.RenewEvery.Duration {
		return fmt.Errorf("%s: lease: claim_wait must be at least 2ms, renew_every positive, "+
			"and expire_after at least three times renew_every", name)
	}
	if s.Runtime.Process.Settle.Duration <= 0 {
		return fmt.Errorf("%s: runtime.process.settle must be positive", name)
	}
	if p := s.Runtime.Process.Payload; len(p) > 0 && p[0] == "" {
		return fmt.Errorf("%s: runtime.process.payload: the command (first element) must not be empty", name)
	}
	if s.Agent.Interval.Duration < time.Second {
		return fmt.Errorf("%s: agent.interval must be at least 1s", name)
	}
	if s.Agent.SpoolMaxBytes < 1<<20 {
		return fmt.Errorf("%s: agent.spool_max_bytes must be at least 1048576", name)
	}
	// An empty or broken prompt pattern would make the archive tools read a
	// console reply as complete before it is.
	if s.Archive.PromptPattern == "" {
		return fmt.Errorf("%s: archive.prompt_pattern must not be empty", name)
	}
	if _, err := regexp.Compile(s.Archive.PromptPattern); err != nil {
		return fmt.Errorf("%s: archive.prompt_pattern: %v", name, err)
	}
	return s.Model.check(name)
}

func (m *Model) check(name string) error {
	if m.Listen == "" || m.DB == "" {
		return fmt.Errorf("%s: model.listen and model.db must not be empty", name)
	}
	if err := CheckDBURL(m.DB); err != nil {
		return fmt.Errorf("%s: model.db: %w", name, err)
	}
	if m.DBPasswordFile != "" && !IsPostgresURL(m.DB) {
		return fmt.Errorf("%s: model.db_password_file is for a PostgreSQL model.db (postgres://...)", name)
	}
	if m.StaleAfter.Duration <= 0 {
		return fmt.Errorf("%s: model.stale_after must be positive", name)
	}
	if m.NodeStatesMaxAge.Duration <= 0 {
		return fmt.Errorf("%s: model.node_states_max_age must be positive", name)
	}
	if c := m.CompactEvery.Duration; c != 0 && c < time.Minute {
		return fmt.Errorf("%s: model.compact_every must be at least 1m (or 0 to disable)", name)
	}
	if (m.TLSCert == "") != (m.TLSKey == "") {
		return fmt.Errorf("%s: model.tls_cert and model.tls_key go together", name)
	}
	if m.TLSClientCA != "" && m.TLSCert == "" {
		return fmt.Errorf("%s: model.tls_client_ca needs model.tls_cert and model.tls_key", name)
	}
	if m.TLSClientCRL != "" && m.TLSClientCA == "" {
		return fmt.Errorf("%s: model.tls_client_crl needs model.tls_client_ca", name)
	}
	if m.TLSCert != "" && strings.HasPrefix(m.Listen, "unix:") {
		return fmt.Errorf("%s: model.tls_cert: TLS is for TCP listeners; model.listen %q is a Unix socket", name, m.Listen)
	}
	if (m.ClientTLSCert == "") != (m.ClientTLSKey == "") {
		return fmt.Errorf("%s: model.client_tls_cert and model.client_tls_key go together", name)
	}
	return nil
}

// keyLine finds the line that defines key k: the last element as a key
// after the header of its table, or as a table header itself. BurntSushi
// does not expose positions of undecoded keys, hence the scan.
func keyLine(data []byte, k toml.Key) int {
	table, leaf := strings.Join(k[:len(k)-1], "."), k[len(k)-1]
	current := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			current = strings.Trim(line, "[] \t")
			if current == k.String() {
				return n
			}
			continue
		}
		lhs, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		lhs = strings.Trim(strings.TrimSpace(lhs), `"`)
		if (current == table && lhs == leaf) || (current == "" && lhs == k.String()) {
			return n
		}
	}
	return 0
}

// IsPostgresURL reports whether a model database is a PostgreSQL URL
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// CheckDBURL refuses a PostgreSQL URL that does not parse or that holds
// a password, which belongs in model.db_password_file. A file path passes.
func CheckDBURL(db string) error {
	if !IsPostgresURL(db) {
		return nil
	}
	u, err := url.Parse(db)
	if err != nil {
		return errors.New("not a valid PostgreSQL URL")
	}
	if _, ok := u.User.Password(); ok {
		return errors.New("the URL holds a password: put it in model.db_password_file (mode 0600) instead, so that it shows in no file others can read and no process list")
	}
	return nil
}
