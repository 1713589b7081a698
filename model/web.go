package model

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// The web page: the fleet as a picture, the changes, the failure
// analysis and a what-if form, read-only, server-rendered from the same
// functions that answer the JSON API (so the page shows what the CLI
// sees), with no JavaScript at all. It takes the query token as a bearer
// token or, after /login, as a session cookie; pages refresh themselves
// while open.

//go:embed web
var webFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"inc":  func(i int) int { return i + 1 },
	"join": strings.Join,
}).ParseFS(webFiles, "web/*.html"))

// sessionCookie is the cookie the login form sets.
const sessionCookie = "sg_session"

// refreshSeconds is how often an open page reloads itself.
const refreshSeconds = 15

// pageData is what every page template gets.
type pageData struct {
	Title, Page string
	Refresh     int
	At          string
	Data        any
}

func (s *Server) webRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.page("fleet", "Fleet", refreshSeconds, s.fleetView))
	mux.HandleFunc("GET /host/{host}", s.page("host", "", refreshSeconds, s.hostView))
	mux.HandleFunc("GET /changes", s.page("changes", "Changes", refreshSeconds, s.changesView))
	mux.HandleFunc("GET /failures", s.page("failures", "Failures", refreshSeconds, s.failuresView))
	mux.HandleFunc("GET /what-if", s.page("what-if", "What if", 0, s.whatIfView))
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) { s.login(w, r, false, http.StatusOK) })
	mux.HandleFunc("POST /login", s.loginPost)
	mux.HandleFunc("GET /static/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		b, _ := webFiles.ReadFile("web/style.css")
		w.Write(b)
	})
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		b, _ := webFiles.ReadFile("web/openapi.json")
		w.Write(b)
	})
}

// session is the cookie value that stands for the query token: a MAC of
// it, so that the token itself is not kept by the browser.
func (s *Server) session() string {
	m := hmac.New(sha256.New, []byte(s.cfg.QueryToken))
	m.Write([]byte("storagegrid model web session"))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Server) webAuthorized(r *http.Request) bool {
	want := s.cfg.QueryToken
	if want == "" {
		return true
	}
	if subtle.ConstantTimeCompare([]byte(bearer(r)), []byte(want)) == 1 {
		return true
	}
	c, err := r.Cookie(sessionCookie)
	return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.session())) == 1
}

// page serves one view: the login form to a browser without the token,
// else the view's data rendered by its template.
func (s *Server) page(name, title string, refresh int, data func(*http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.webAuthorized(r) {
			s.login(w, r, false, http.StatusUnauthorized)
			return
		}
		d, err := data(r)
		p := pageData{Title: title, Page: name, Refresh: refresh, Data: d}
		if name == "host" {
			p.Title = "Host " + r.PathValue("host")
		}
		if err != nil {
			code := http.StatusInternalServerError
			var he *httpError
			switch {
			case errors.As(err, &he):
				code = he.code
			case errors.Is(err, ErrNotFound):
				code = http.StatusNotFound
			}
			s.render(w, code, "error", pageData{Title: "Error", Page: name, Data: err.Error()})
			return
		}
		s.render(w, http.StatusOK, name, p)
	}
}

func (s *Server) render(w http.ResponseWriter, code int, name string, p pageData) {
	p.At = s.cfg.Now().UTC().Format(time.RFC3339)
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, p); err != nil {
		http.Error(w, "rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Nothing on the page runs script or comes from elsewhere, and it is
	// framed by nobody.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

type loginView struct {
	Next  string
	Wrong bool
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, wrong bool, code int) {
	if s.cfg.QueryToken == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	next := r.URL.RequestURI()
	if r.URL.Path == "/login" {
		next = localPath(r.FormValue("next"))
	}
	s.render(w, code, "login", pageData{Title: "Sign in", Page: "login", Data: loginView{Next: next, Wrong: wrong}})
}

func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	if s.cfg.QueryToken == "" || subtle.ConstantTimeCompare([]byte(r.PostFormValue("token")), []byte(s.cfg.QueryToken)) != 1 {
		s.login(w, r, true, http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.session(), Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

// localPath keeps a redirect on this server.
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

// The fleet view: sites, racks, hosts, nodes.

type fleetView struct {
	Hosts, Nodes, Stale int
	Worst               string
	Sites               []siteView
}

type siteView struct {
	Name  string
	Racks []rackView
}

type rackView struct {
	Name  string
	Hosts []hostCard
}

type hostCard struct {
	Host, LastSeen string
	Stale          bool
	Switches       []string
	Nodes          []nodeChip
}

type nodeChip struct{ Name, Type, Site, RunState, Class string }

func chip(n Node, stale bool) nodeChip {
	c := nodeChip{Name: n.Name, Type: n.Type, Site: n.Site, RunState: n.RunState, Class: "Stopped"}
	switch {
	case stale:
		c.Class = "Unknown"
	case n.InService():
		c.Class = "Running"
	}
	return c
}

// fleetView asks what `model hosts`, `model nodes` and `model failures`
// ask, and arranges it by site and rack.
func (s *Server) fleetView(r *http.Request) (any, error) {
	hv, err := s.hosts(r)
	if err != nil {
		return nil, err
	}
	nv, err := s.nodes(r)
	if err != nil {
		return nil, err
	}
	fv, err := s.failures(withQuery(r, url.Values{}))
	if err != nil {
		return nil, err
	}
	hosts, nodes, fails := hv.([]HostSummary), nv.([]Node), fv.(FailureReport)
	byHost := map[string][]Node{}
	for _, n := range nodes {
		byHost[n.Host] = append(byHost[n.Host], n)
	}
	v := fleetView{Hosts: len(hosts), Nodes: len(nodes)}
	if len(fails.Failures) > 0 {
		f := fails.Failures[0]
		v.Worst = strings.Join(f.Labels, " + ") + " (" + f.Broken[0].Rule + ")"
	}
	sites := map[string]map[string][]hostCard{}
	for _, h := range hosts {
		card := hostCard{Host: h.Host, LastSeen: h.LastSeen.UTC().Format(time.RFC3339), Stale: h.Stale, Switches: h.Switches}
		for _, n := range byHost[h.Host] {
			card.Nodes = append(card.Nodes, chip(n, h.Stale))
		}
		if h.Stale {
			v.Stale++
		}
		if sites[h.Site] == nil {
			sites[h.Site] = map[string][]hostCard{}
		}
		sites[h.Site][h.Rack] = append(sites[h.Site][h.Rack], card)
	}
	for _, site := range sortedKeysOf(sites) {
		sv := siteView{Name: site}
		if site == "" {
			sv.Name = "(none)"
		}
		for _, rack := range sortedKeysOf(sites[site]) {
			sv.Racks = append(sv.Racks, rackView{Name: rack, Hosts: sites[site][rack]})
		}
		v.Sites = append(v.Sites, sv)
	}
	return v, nil
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// withQuery is r asking with other query parameters.
func withQuery(r *http.Request, q url.Values) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	return r2
}

// The host page: its nodes, links (with their LLDP neighbours) and
// devices, from `model state --host`.

type hostPage struct {
	LastSeen  string
	Stale     bool
	Placement []string
	Nodes     []nodeChip
	Links     []struct{ Name, Type, State, Over, Neighbor string }
	Devices   []struct{ Name, Type, WWID, Aliases string }
}

func (s *Server) hostView(r *http.Request) (any, error) {
	host := r.PathValue("host")
	hv, err := s.hosts(r)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(hv.([]HostSummary), func(h HostSummary) bool { return h.Host == host })
	if i < 0 {
		return nil, fmt.Errorf("host %q: %w", host, ErrNotFound)
	}
	sum := hv.([]HostSummary)[i]
	stv, err := s.state(withQuery(r, url.Values{"host": {host}}))
	if err != nil {
		return nil, err
	}
	v := hostPage{LastSeen: sum.LastSeen.UTC().Format(time.RFC3339), Stale: sum.Stale}
	for _, p := range [][2]string{{"site", sum.Site}, {"room", sum.Room}, {"rack", sum.Rack}} {
		if p[1] != "" {
			v.Placement = append(v.Placement, p[0]+" "+p[1]+".")
		}
	}
	neighbors := map[string][]string{}
	for _, e := range stv.(State).Entities {
		if e.Kind == wire.KindNeighbor {
			name := e.Fields[wire.FieldSysName]
			if name == "" {
				name = e.Fields[wire.FieldChassisID]
			}
			neighbors[e.Fields[wire.FieldLink]] = append(neighbors[e.Fields[wire.FieldLink]], name+" port "+e.Fields[wire.FieldPortID])
		}
	}
	for _, e := range stv.(State).Entities {
		f := e.Fields
		switch e.Kind {
		case wire.KindNode:
			n := nodeFrom(&e, nil)
			v.Nodes = append(v.Nodes, chip(*n, sum.Stale))
		case wire.KindLink:
			over := f[wire.FieldParent]
			if f[wire.FieldMaster] != "" {
				over = "member of " + f[wire.FieldMaster]
			}
			v.Links = append(v.Links, struct{ Name, Type, State, Over, Neighbor string }{e.ID, f[wire.FieldType],
				f[wire.FieldAdminState] + "/" + f[wire.FieldOperState], over, strings.Join(neighbors[e.ID], ", ")})
		case wire.KindBlock:
			v.Devices = append(v.Devices, struct{ Name, Type, WWID, Aliases string }{e.ID, f[wire.FieldType], f[wire.FieldWWID], f[wire.FieldAliases]})
		}
	}
	return v, nil
}

// The changes view: `model changes` with its filters, the last hour by
// default.

type changesView struct {
	Since, Host, Kind string
	Kinds             []string
	Changes           []struct{ Time, Host, Op, Kind, ID, Fields string }
}

func (s *Server) changesView(r *http.Request) (any, error) {
	q := r.URL.Query()
	v := changesView{Since: q.Get("since"), Host: q.Get("host"), Kind: q.Get("kind")}
	for _, k := range wire.Kinds {
		if k != wire.KindMetric {
			v.Kinds = append(v.Kinds, string(k))
		}
	}
	if v.Since == "" {
		v.Since = s.cfg.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	}
	cv, err := s.changes(withQuery(r, url.Values{"since": {v.Since}, "host": {v.Host}, "kind": {v.Kind}, "limit": {"500"}}))
	if err != nil {
		return nil, err
	}
	for _, c := range cv.([]Change) {
		var fs []string
		for _, f := range c.Fields {
			fs = append(fs, f.Field+" "+orUnset(f.From)+" → "+orUnset(f.To))
		}
		v.Changes = append(v.Changes, struct{ Time, Host, Op, Kind, ID, Fields string }{c.Time.UTC().Format(time.RFC3339), c.Host, c.Op,
			string(c.Kind), c.ID, strings.Join(fs, ", ")})
	}
	slices.Reverse(v.Changes) // newest first
	return v, nil
}

func orUnset(p *string) string {
	if p == nil {
		return "(unset)"
	}
	return *p
}

func (s *Server) failuresView(r *http.Request) (any, error) {
	return s.failures(withQuery(r, url.Values{}))
}

// The what-if form: one step per line, run as `model what-if` runs it.

type whatIfView struct {
	Text   string
	Error  string
	Report *ScenarioReport
}

func (s *Server) whatIfView(r *http.Request) (any, error) {
	v := whatIfView{Text: r.URL.Query().Get("steps")}
	var steps []Step
	for _, line := range strings.Split(v.Text, "\n") {
		verb, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		arg = strings.TrimSpace(arg)
		switch verb {
		case "":
			continue
		case "fail":
			steps = append(steps, Step{Fail: arg})
		case "stop":
			steps = append(steps, Step{Stop: arg})
		case "move":
			steps = append(steps, Step{Move: arg})
		default:
			v.Error = fmt.Sprintf("%q: a line is fail KIND/ID, stop HOST or move NODE=HOST", line)
			return v, nil
		}
	}
	if len(steps) == 0 {
		return v, nil
	}
	rep, err := s.scenario(steps)
	if err != nil {
		v.Error = err.Error()
		return v, nil
	}
	v.Report = &rep
	return v, nil
}
