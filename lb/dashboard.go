package lb

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"stickylab/internal/jsonhttp"
	"stickylab/internal/palette"
)

// webFS holds the dashboard: one HTML template, its style sheet and its
// script, inlined into the page so that it needs no other route and no
// build step.
//
//go:embed web
var webFS embed.FS

// defaultAppPort is the port of the balancer's listener that the dashboard
// shows beside itself when the page is opened without ?app= before Serve
// has told it the real one and without Config.PublicURL: the port of
// "stickylab demo" and of docker compose.
const defaultAppPort = "8080"

// dashboardScripts returns the dashboard's scripts, in the order the page
// runs them: the last one starts the others' work.
func dashboardScripts() []string {
	return []string{"web/fleet.js", "web/stream.js", "web/dashboard.js"}
}

// dashboardPage is what the template of the dashboard gets.
type dashboardPage struct {
	CSS     template.CSS  // trusted: embedded
	Scripts []template.JS // trusted: embedded
	App     string        // the balancer's URL, shown in the frame
	Config  string        // JSON for the scripts, in a data attribute
}

// dashboardConfig is what the script learns from the server: what it needs
// before the first API answer arrives, so that the first paint shows the
// balancer as it is, not every target "initial".
type dashboardConfig struct {
	App     string            `json:"app"`
	Targets []dashboardTarget `json:"targets"`
	// TargetGroup names the group under a Router: the fleet shows its
	// targets only, of the every group's that GET /api/targets lists.
	TargetGroup string `json:"target_group,omitempty"`
}

type dashboardTarget struct {
	Name   string       `json:"name"`
	Color  string       `json:"color"`
	Status TargetStatus `json:"status"` // as GET /api/targets says when the page is served
}

// dashboard serves GET / of the admin listener: the live dashboard (and,
// for its script, GET /?whoami: see whoami). It
// shows the balancer's own listener in a frame beside the fleet, at the URL
// of the query parameter app (an http or https URL on the dashboard's own
// host name, so that the frame shares the learner's cookies), by default
// Config.PublicURL, else the dashboard's host on the proxy listener's port. Everything the page runs is inline and
// allowed by hash in its Content-Security-Policy; the script talks to the
// admin API on the same origin only.
func (b *Balancer) dashboard(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Has("whoami") {
		b.whoami(w, r)
		return
	}
	port := defaultAppPort
	if p := b.proxyPort.Load(); p != nil {
		port = *p
	}
	public, _ := parsePublicURL(b.cfg.PublicURL) // checked by New
	app, err := dashboardAppURL(r, port, public)
	if err != nil {
		http.Error(w, "app: "+err.Error(), http.StatusBadRequest)
		return
	}
	// Read and parsed per request: the page is rare, and package-level
	// copies would be global state. Only a broken build fails here.
	css, err := webFS.ReadFile("web/dashboard.css")
	var scripts [][]byte
	for _, name := range dashboardScripts() {
		if err == nil {
			var js []byte
			js, err = webFS.ReadFile(name)
			scripts = append(scripts, js)
		}
	}
	if b.cfg.DashboardScript != "" {
		scripts = append(scripts, []byte(b.cfg.DashboardScript))
	}
	var tmpl *template.Template
	if err == nil {
		tmpl, err = template.ParseFS(webFS, "web/dashboard.html")
	}
	if err != nil {
		http.Error(w, "dashboard unavailable", http.StatusInternalServerError)
		return
	}
	cfg := dashboardConfig{App: app.String(), TargetGroup: b.group}
	for _, t := range b.Targets() {
		cfg.Targets = append(cfg.Targets, dashboardTarget{Name: t.Name, Color: palette.Color(t.Name), Status: t})
	}
	cfgJSON, _ := json.Marshal(cfg) // strings and numbers only: cannot fail
	data := dashboardPage{CSS: template.CSS(css), App: cfg.App, Config: string(cfgJSON)}
	for _, js := range scripts {
		data.Scripts = append(data.Scripts, template.JS(js))
	}
	var page bytes.Buffer
	err = tmpl.Execute(&page, data)
	if err != nil {
		http.Error(w, "dashboard unavailable", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", dashboardCSP(css, scripts, app))
	w.Write(page.Bytes())
}

// whoami answers GET /?whoami with {"client": label}: the label that the
// balancer's events give the browser that asks, so that the dashboard can
// mark the learner's own requests. Browsers keep cookies per host, not per
// port, so the admin listener gets the stickiness cookie that the balancer
// set on the same host; its label is the one in the cookie, else the hash
// of address and user agent that cookie-less requests get.
func (b *Balancer) whoami(w http.ResponseWriter, r *http.Request) {
	ex := &exchange{}
	s := b.Stickiness()
	name, purpose := cookieLB, purposeDuration
	if s.Mode == StickyApp {
		name, purpose = cookieApp, purposeApp
	}
	if value, ok := cookieValue(r.Header, name); ok && s.Mode != StickyNone {
		if v, ok := b.codec.open(value, purpose, b.pool.load().intern); ok {
			ex.client, ex.sticky.client = v.client, v.client
		}
	}
	jsonhttp.Write(w, http.StatusOK, map[string]string{"client": clientLabel(ex, r)})
}

// dashboardCSP allows the page's inline style and scripts by hash, API
// calls to its own origin, and the app's origin in the frame; nothing else.
func dashboardCSP(css []byte, scripts [][]byte, app *url.URL) string {
	hash := func(b []byte) string {
		sum := sha256.Sum256(b)
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	var js []string
	for _, s := range scripts {
		js = append(js, hash(s))
	}
	return fmt.Sprintf("default-src 'none'; style-src %s; script-src %s; connect-src 'self'; img-src data:; frame-src %s://%s; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
		hash(css), strings.Join(js, " "), app.Scheme, app.Host)
}

// dashboardAppURL returns the URL of the balancer's listener that the
// dashboard frames: the query parameter app, else public (the operator's
// Config.PublicURL; without a host name, on the dashboard's), else the
// dashboard's host on port (the proxy listener's, or 8080 before Serve
// runs). The app parameter must be on the dashboard's own host name: a link
// to the dashboard cannot make it frame another site.
func dashboardAppURL(r *http.Request, port string, public *url.URL) (*url.URL, error) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	def := &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/"}
	if public != nil {
		def = &url.URL{Scheme: public.Scheme, Host: public.Host, Path: public.Path}
		if public.Hostname() == "" {
			def.Host = net.JoinHostPort(host, public.Port())
		}
	}
	raw := r.URL.Query().Get("app")
	if raw == "" {
		return def, nil
	}
	example := "want the balancer's http:// or https:// URL on this host, e.g. ?app=" + def.String()
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return nil, fmt.Errorf("%q: %s", raw, example)
	}
	if !strings.EqualFold(u.Hostname(), host) {
		return nil, fmt.Errorf("%q: host %q is not this dashboard's host %q; %s", raw, u.Hostname(), host, example)
	}
	if port := u.Port(); !validPort(port) {
		return nil, fmt.Errorf("%q: port %q; %s", raw, port, example)
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Path: path}, nil
}

// parsePublicURL parses Config.PublicURL: nil for "", else an http or https
// URL with a port or a host name (or both), no user, query or fragment, and
// its path "/" when empty.
func parsePublicURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https"):
		return nil, errors.New("want an http:// or https:// URL, e.g. http://localhost:28080/ or http://:28080/")
	case u.Host == "" || (u.Hostname() == "" && u.Port() == ""):
		return nil, errors.New("want a host name, a port or both, e.g. http://localhost:28080/ or http://:28080/ (the dashboard's host)")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, errors.New("want scheme://[host]:port[/path] only (no user, query or fragment)")
	}
	if p := u.Port(); !validPort(p) {
		return nil, fmt.Errorf("port %q: want 1 to 65535", p)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// validPort reports whether the port of a URL is empty (the scheme's) or 1
// to 65535.
func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return port == "" || (err == nil && n >= 1 && n <= 65535)
}
