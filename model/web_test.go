package model

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const webToken = "query-token-0123456789abcdef"

// webServer is a model server with a query token, fed the failure tests'
// fleet (topoFleet); dc2-h5 has been silent for ten minutes.
func webServer(t *testing.T) *testServer {
	hosts := topoFleet()
	ts := serveWith(t, filepath.Join(t.TempDir(), "model.db"), openTestStore(t, filepath.Join(t.TempDir(), "model.db")),
		func(c *Config) { c.QueryToken = webToken }, hostIDs(hosts)...)
	ts.feed(hosts)
	ts.clock.Set(epoch0.Add(10 * time.Minute))
	for _, h := range hosts {
		if h.id != "dc2-h5" {
			ts.send(h.snapshot())
		}
	}
	return ts
}

// artifacts is where the browser test leaves its screenshots:
// $STORAGEGRID_TEST_ARTIFACTS, else bin/test-artifacts/web.
func artifacts(t *testing.T) string {
	dir := os.Getenv("STORAGEGRID_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "bin", "test-artifacts")
	}
	dir = filepath.Join(dir, "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestWebPagesInChromium drives Debian's Chromium, headless, through
// the pages: the login form first, then each view with the fleet's
// hosts, nodes, racks and switches, a stale host, the failure analysis
// and a what-if verdict; a screenshot of each is kept.
func TestWebPagesInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("needs chromium (Debian's chromium package; .ci/run installs it)")
	}
	ts := webServer(t)
	// Chromium keeps Secure cookies for http://localhost, as for https.
	base := strings.Replace(ts.http.URL, "127.0.0.1", "localhost", 1)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1400, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	dir := artifacts(t)
	// page loads url, does what the form needs (a submit, which loads the
	// next page), and returns the page's text, keeping a screenshot.
	page := func(name, url string, form ...chromedp.Action[chromedp.Void]) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(form) > 0 {
			if _, err := chromedp.RunResponse(ctx, form...); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		return body
	}
	want := func(name, body string, parts ...string) {
		t.Helper()
		for _, p := range parts {
			if !strings.Contains(body, p) {
				t.Fatalf("%s: no %q in\n%s", name, p, body)
			}
		}
	}

	body := page("login", base+"/failures")
	want("login", body, "Sign in", "asks for its query token")
	body = page("login-wrong", base+"/failures", chromedp.SetValue(chromedp.CSS(`input[name="token"]`), "not-the-token"),
		chromedp.Submit(chromedp.CSS(`input[name="token"]`)))
	want("login-wrong", body, "That is not the query token.")
	body = page("failures", base+"/failures", chromedp.SetValue(chromedp.CSS(`input[name="token"]`), webToken),
		chromedp.Submit(chromedp.CSS(`input[name="token"]`)))
	want("failures", body, "switch/sw-dc2", "site-storage-quorum", "site DC2 would keep 0 of its 3 storage nodes running")

	body = page("fleet", base+"/")
	want("fleet", body, "Site DC1", "Site DC2", "Rack r1", "Rack r4", "dc1-h0", "DC1-ADM1", "DC2-S3", "on sw-dc1-a, sw-dc1-b",
		"stale since", "1 stale", "The worst single failure: switch/sw-dc2")

	body = page("host", base+"/host/dc1-h0")
	want("host", body, "Host dc1-h0", "bond0.1001", "member of bond0", "sw-dc1-a port Ethernet1/1", "3600a0980", "DC1-ADM1")

	body = page("changes", base+"/changes?since=2024-06-10T00:00:00Z&host=dc2-h1&kind=node")
	want("changes", body, "dc2-h1", "added", "node DC2-S1")
	if strings.Contains(body, "dc1-h0") {
		t.Fatalf("changes of dc2-h1 list dc1-h0:\n%s", body)
	}

	body = page("what-if", base+"/what-if", chromedp.SetValue(chromedp.CSS(`textarea[name="steps"]`), "fail switch/sw-dc1-a\nstop dc1-h0"),
		chromedp.Submit(chromedp.CSS(`textarea`)))
	want("what-if", body, "NOT SAFE", "fail switch/sw-dc1-a", "stop dc1-h0", "ok-to-stop failed", "type-running-elsewhere")
	t.Logf("screenshots in %s", dir)
}

// TestWebAuth: without the token a page is the login form (401), with it
// as a bearer token or as the session cookie the page; a login redirects
// only on this server; the API document is served to anyone and names
// every endpoint.
func TestWebAuth(t *testing.T) {
	ts := webServer(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, h http.Header) (*http.Response, string) {
		req, _ := http.NewRequest("GET", ts.http.URL+path, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 1<<16)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp, b.String()
	}
	resp, body := get("/", nil)
	if resp.StatusCode != 401 || !strings.Contains(body, `name="token"`) || strings.Contains(body, "dc1-h0") {
		t.Fatalf("unauthenticated: %d\n%s", resp.StatusCode, body)
	}
	resp, body = get("/", http.Header{"Authorization": {"Bearer " + webToken}})
	if resp.StatusCode != 200 || !strings.Contains(body, "dc1-h0") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("bearer: %d %v", resp.StatusCode, resp.Header)
	}
	for next, to := range map[string]string{"/failures": "/failures", "//evil.example/": "/", "https://evil.example/": "/", "/\\evil": "/"} {
		resp, err := c.PostForm(ts.http.URL+"/login", map[string][]string{"token": {webToken}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ck := resp.Cookies()
		if resp.StatusCode != 303 || resp.Header.Get("Location") != to || len(ck) != 1 || !ck[0].HttpOnly || !ck[0].Secure || ck[0].SameSite != http.SameSiteStrictMode {
			t.Fatalf("login next=%s: %d to %q, cookies %+v", next, resp.StatusCode, resp.Header.Get("Location"), ck)
		}
		if r2, _ := get("/", http.Header{"Cookie": {ck[0].Name + "=" + ck[0].Value}}); r2.StatusCode != 200 {
			t.Fatalf("with the session cookie: %d", r2.StatusCode)
		}
		if strings.Contains(ck[0].Value, webToken) {
			t.Fatal("the cookie holds the token")
		}
	}
	if r2, _ := get("/", http.Header{"Cookie": {sessionCookie + "=forged"}}); r2.StatusCode != 401 {
		t.Fatalf("forged cookie: %d", r2.StatusCode)
	}
	if resp, _ := get("/host/nowhere", http.Header{"Authorization": {"Bearer " + webToken}}); resp.StatusCode != 404 {
		t.Fatalf("unknown host: %d", resp.StatusCode)
	}
	resp, body = get("/api/v1/openapi.json", nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.StatusCode != 200 || doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi: %d %v", resp.StatusCode, err)
	}
	for _, p := range []string{PathHosts, PathNodes, PathChanges, PathState, PathImpact, PathCheckMigrate, PathOkToStop, PathMetrics,
		PathFailures, PathWhatIf, PathSwitches, PathPlanPatch, "/api/v1/ingest", "/api/v1/version"} {
		if doc.Paths[p] == nil {
			t.Errorf("openapi.json does not document %s (it has %v)", p, slices.Sorted(mapKeysOf(doc.Paths)))
		}
	}
}
