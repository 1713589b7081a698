package vmware

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
)

func boolp(b bool) *bool { return &b }

func TestResolvePrecedence(t *testing.T) {
	flags := Source{Name: "--url", URL: "flag.example", Username: "flag-user"}
	env := Source{Name: "GOVC_URL", URL: "env.example", Username: "env-user", Password: "env-pw", Insecure: boolp(true)}
	file := Source{Name: "vmware.url", URL: "file.example:8443", Username: "file-user", Password: "file-pw", Insecure: boolp(false), Thumbprint: "aa" + strings.Repeat(":bb", 19)}

	cfg, err := Resolve(flags, env, file)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.URL.String() != "https://flag.example/sdk" || cfg.Username != "flag-user" || cfg.Password != "env-pw" || !cfg.Insecure {
		t.Errorf("flags > env > file: got url=%s user=%s pw=%s insecure=%v", cfg.URL, cfg.Username, cfg.Password, cfg.Insecure)
	}
	if cfg.Thumbprint != "AA"+strings.Repeat(":BB", 19) {
		t.Errorf("thumbprint from the file layer, normalised: got %q", cfg.Thumbprint)
	}

	cfg, err = Resolve(Source{}, Source{}, file)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.URL.String() != "https://file.example:8443/sdk" || cfg.Username != "file-user" || cfg.Insecure {
		t.Errorf("file only: got url=%s user=%s insecure=%v", cfg.URL, cfg.Username, cfg.Insecure)
	}
}

func TestResolveURLUserInfo(t *testing.T) {
	cfg, err := Resolve(Source{URL: "https://url-user:url%40pw@vc.example/sdk"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Username != "url-user" || cfg.Password != "url@pw" || cfg.URL.User != nil {
		t.Errorf("govc-style user info: got user=%q pw=%q url=%s", cfg.Username, cfg.Password, cfg.URL)
	}
	// An explicit user name and password, from any layer, beat the URL's.
	cfg, err = Resolve(Source{URL: "url-user:url-pw@vc.example"}, Source{Username: "env-user", Password: "env-pw"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Username != "env-user" || cfg.Password != "env-pw" {
		t.Errorf("explicit credentials: got user=%q pw=%q", cfg.Username, cfg.Password)
	}
}

func TestResolveErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers []Source
		want   string
	}{
		{"no url", []Source{{Username: "u", Password: "p"}}, "no vSphere URL"},
		{"no user", []Source{{URL: "vc.example", Password: "p"}}, "no vSphere user name"},
		{"no password", []Source{{URL: "vc.example", Username: "u"}}, "no vSphere password for u"},
		{"bad port", []Source{{Name: "--url", URL: "https://u:Sekr1t-pw@vc.example:44x/sdk"}}, `--url "https://vc.example:44x/sdk": not a valid URL`},
		{"bad scheme", []Source{{Name: "--url", URL: "ftp://vc.example", Username: "u", Password: "p"}}, `scheme "ftp"`},
		{"bad thumbprint", []Source{{URL: "vc.example", Username: "u", Password: "p", Thumbprint: "12:34"}}, "want a SHA-1 or SHA-256"},
		{"non-hex thumbprint", []Source{{URL: "vc.example", Username: "u", Password: "p", Thumbprint: strings.Repeat("ZZ", 20)}}, "not hexadecimal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Resolve(tc.layers...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Sekr1t") {
				t.Errorf("password in error: %v", err)
			}
			if fail.KindOf(err) != fail.Usage {
				t.Errorf("kind %v, want usage", fail.KindOf(err))
			}
		})
	}
}

func TestEnvSource(t *testing.T) {
	env := map[string]string{"GOVC_URL": "vc.example", "GOVC_USERNAME": "u", "GOVC_PASSWORD": "p", "GOVC_INSECURE": "1"}
	s, err := EnvSource(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if s.URL != "vc.example" || s.Username != "u" || s.Password != "p" || s.Insecure == nil || !*s.Insecure {
		t.Errorf("got %+v", s)
	}
	env["GOVC_INSECURE"] = "maybe"
	if _, err := EnvSource(func(k string) string { return env[k] }); err == nil || fail.KindOf(err) != fail.Usage {
		t.Errorf("GOVC_INSECURE=maybe: got %v, want a usage error", err)
	}
	delete(env, "GOVC_INSECURE")
	if s, _ := EnvSource(func(k string) string { return env[k] }); s.Insecure != nil {
		t.Errorf("unset GOVC_INSECURE must leave Insecure unset, got %v", *s.Insecure)
	}
}

// No error depends on the password: for a table of passwords holding
// every character a URL treats specially, and short common words that
// also occur in messages, each error path (a URL that does not parse, a
// wrong scheme, no host, nothing listening, a wrong password against
// govmomi's simulator, a server that never answers) gives exactly the
// message it gives for a placeholder password. So no password can show,
// whole or in part, and no word of a message is mistaken for one.
func TestNoErrorDependsOnThePassword(t *testing.T) {
	sim := startSim(t, "esx")
	sim.URL = strings.TrimSuffix(sim.URL, "/sdk")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()
	hung, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	host := strings.TrimPrefix(sim.URL, "https://")
	paths := map[string]func(pw string) string{ // the URL or, for a wrong login, the password layer
		"bad host":   func(pw string) string { return "https://grid-admin:" + pw + "@[::1/sdk" },
		"bad port":   func(pw string) string { return "https://grid-admin:" + pw + "@127.0.0.1:99999999/sdk" },
		"scheme":     func(pw string) string { return "ftp://grid-admin:" + pw + "@vc.example/sdk" },
		"no host":    func(pw string) string { return "https://grid-admin:" + pw + "@/sdk" },
		"refused":    func(pw string) string { return "https://grid-admin:" + pw + "@" + refused + "/sdk" },
		"hung":       func(pw string) string { return "https://grid-admin:" + pw + "@" + hung.Addr().String() + "/sdk" },
		"bad login":  func(pw string) string { return "https://grid-admin:" + pw + "@" + host + "/sdk" },
		"bad login2": func(pw string) string { return "https://" + host + "/sdk" }, // password from its own layer
	}
	run := func(path, pw string) string {
		layer := Source{Name: "GOVC_URL", URL: paths[path](pw), Insecure: new(bool)}
		*layer.Insecure = true
		if path == "bad login2" {
			layer.Username, layer.Password = "grid-admin", pw
		}
		cfg, err := Resolve(layer)
		if err == nil {
			cfg.Timeout = 100 * time.Millisecond
			var c *Client
			if c, err = Connect(context.Background(), cfg); err == nil {
				c.Close(context.Background())
			}
		}
		if err == nil {
			return "no error"
		}
		return err.Error()
	}
	passwords := []string{"pass", "a", "sdk", "https", "grid-admin", "login", "host", "vc", "1", "example",
		"p#ss", "p/ss", "p?ss", "p ss", "p@ss", "p%ss", "p%41ss", "p:ss", "p&ss", "p=ss", "p+ss", "p[ss]", `p"ss`, "p'ss",
		"p\\ss", "#", "/", "?", "@", "%", ":", "@@", "//", "p@ss:w/rd?#x y%zz"}
	for path := range paths {
		want := run(path, "Placeholder-0")
		if want == "no error" {
			t.Fatalf("%s: no error", path)
		}
		for _, pw := range passwords {
			if got := run(path, pw); got != want {
				t.Errorf("%s, password %q: the message depends on the password:\n%s\nnot\n%s", path, pw, got, want)
			}
		}
		t.Logf("%s: %s", path, want)
	}
}

type errWith string

func (e errWith) Error() string { return string(e) }
