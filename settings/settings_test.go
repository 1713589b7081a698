package settings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMissingOptionalFileGivesDefaults(t *testing.T) {
	s, err := Load(filepath.Join(t.TempDir(), "none.toml"), true)
	if err != nil {
		t.Fatal(err)
	}
	if s.Runtime.StopTimeout.Duration != 630*time.Second {
		t.Fatalf("default stop_timeout = %v", s.Runtime.StopTimeout)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.toml"), false); err == nil {
		t.Fatal("missing explicit file accepted")
	}
}

func TestLoadAsNamesTheHostPath(t *testing.T) {
	const host = "/etc/storagegrid/storagegrid.toml"
	p := write(t, "[devices]\nallow_file = true\n")
	_, err := LoadAs(p, host, true)
	if err == nil || !strings.HasPrefix(err.Error(), host+":2: ") || strings.Contains(err.Error(), p) {
		t.Fatalf("parse error = %v, want it to name %s only", err, host)
	}
	dir := t.TempDir() // a directory cannot be read as a file
	_, err = LoadAs(dir, host, false)
	if err == nil || !strings.Contains(err.Error(), host) || strings.Contains(err.Error(), dir) {
		t.Fatalf("read error = %v, want it to name %s only", err, host)
	}
}

func TestParseValues(t *testing.T) {
	p := write(t, `
[runtime]
kind = "process"
stop_timeout = "10s"

[runtime.process]
payload = ["/bin/sleep", "1000", "{node}"]

[devices]
allow_files = true
`)
	s, err := Load(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if s.Runtime.Kind != "process" || s.Runtime.StopTimeout.Duration != 10*time.Second ||
		len(s.Runtime.Process.Payload) != 3 || !s.Devices.AllowFiles {
		t.Fatalf("decoded %+v", s)
	}
	if s.Archive.ADE != "127.0.0.1:1409" {
		t.Fatalf("default kept for absent table: %q", s.Archive.ADE)
	}
}

func TestUnknownKeyNamesKeyAndLine(t *testing.T) {
	p := write(t, "[runtime]\nkind = \"process\"\n\n[devices]\nallow_file = true\n")
	_, err := Load(p, false)
	if err == nil || !strings.Contains(err.Error(), `:5: unknown setting "devices.allow_file"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestBadValues(t *testing.T) {
	for name, body := range map[string]string{
		"kind":     "[runtime]\nkind = \"docker\"\n",
		"duration": "[runtime]\nstop_timeout = \"soon\"\n",
		"syntax":   "[runtime\nkind = 1\n",
		"type":     "[devices]\nallow_files = \"yes\"\n",
		"payload":  "[runtime.process]\npayload = [\"\", \"{node}\"]\n",
	} {
		if _, err := Load(write(t, body), false); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "storagegrid.toml") {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
	}
}

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "storagegrid.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestModelSection(t *testing.T) {
	s, err := Load(write(t, "[model]\nlisten = \"unix:/run/storagegrid/model.sock\"\nstale_after = \"2m\"\nserver = \"http://model:9470\"\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	if s.Model.Listen != "unix:/run/storagegrid/model.sock" || s.Model.StaleAfter.Duration != 2*time.Minute ||
		s.Model.Server != "http://model:9470" || s.Model.DB != "/var/lib/storagegrid/model/model.db" {
		t.Fatalf("decoded %+v", s.Model)
	}
	for _, body := range []string{"[model]\nstale_after = \"0s\"\n", "[model]\ncompact_every = \"5s\"\n", "[model]\ndb = \"\"\n",
		"[model]\ntls_client_ca = \"/ca.crt\"\n", "[model]\ntls_key = \"/k\"\n", "[model]\nclient_tls_key = \"/k\"\n",
		"[model]\ndb = \"postgres://sg:pw@db1/model\"\n", "[model]\ndb_password_file = \"/etc/pw\"\n"} {
		if _, err := Load(write(t, body), false); err == nil || !strings.Contains(err.Error(), "model.") {
			t.Errorf("%q: err = %v", body, err)
		}
	}
	s, err = Load(write(t, "[model]\ndb = \"postgresql://sg@db1.example.com/model\"\ndb_password_file = \"/etc/storagegrid/model/db-password\"\n"), false)
	if err != nil || !IsPostgresURL(s.Model.DB) || s.Model.DBPasswordFile != "/etc/storagegrid/model/db-password" {
		t.Fatalf("PostgreSQL model.db: %+v %v", s.Model, err)
	}
	// A CRL revokes certificates of the client CA: without one it means nothing.
	body := "[model]\ntls_cert = \"/s.crt\"\ntls_key = \"/s.key\"\ntls_client_crl = \"/crl.pem\"\n"
	if _, err := Load(write(t, body), false); err == nil || !strings.HasSuffix(err.Error(), ": model.tls_client_crl needs model.tls_client_ca") {
		t.Errorf("tls_client_crl without tls_client_ca: err = %v", err)
	}
	s, err = Load(write(t, body+"tls_client_ca = \"/ca.crt\"\n"), false)
	if err != nil || s.Model.TLSClientCRL != "/crl.pem" {
		t.Fatalf("tls_client_crl with tls_client_ca: %q, %v", s.Model.TLSClientCRL, err)
	}
}

func TestHostPlacement(t *testing.T) {
	s, err := Load(write(t, "[host]\nsite = \"DC1\"\nroom = \"Hall 2 (Süd)\"\nrack = \"R12\"\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	if s.Host != (Host{Site: "DC1", Room: "Hall 2 (Süd)", Rack: "R12"}) {
		t.Fatalf("decoded %+v", s.Host)
	}
	if s, err := Load(write(t, "[agent]\n"), false); err != nil || s.Host != (Host{}) {
		t.Fatalf("no [host]: %+v %v", s.Host, err)
	}
	for body, want := range map[string]string{
		"[host]\nsite = \"DC1\"\n\nrack = \"R1\\tB\"\n":        `storagegrid.toml:4: host.rack = "R1\tB": contains a control character`,
		"[host]\nrack = \"R1\\nB\"\n":                          `storagegrid.toml:2: host.rack = "R1\nB": contains a control character`,
		"[host]\nroom = \"" + strings.Repeat("x", 65) + "\"\n": `storagegrid.toml:2: host.room = "` + strings.Repeat("x", 65) + `": longer than 64 bytes`,
		"[host]\nsite = \"DC\u00a01\"\n":                       `storagegrid.toml:2: host.site = "DC\u00a01": contains a character that is not printable`,
		"[host]\nsite = \"DC1\"\nrow = \"C\"\n":                `storagegrid.toml:3: unknown setting "host.row"`,
		"[host]\nsite = \"a\\u0000b\"\n":                       `storagegrid.toml:2: host.site = "a\x00b": contains a control character`,
	} {
		_, err := Load(write(t, body), false)
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to end in %s", body, err, want)
		}
	}
	if _, err := Load(write(t, "[host]\nrack = \""+strings.Repeat("x", 64)+"\"\n"), false); err != nil {
		t.Errorf("64 bytes refused: %v", err)
	}
}
