package lb

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"stickylab/internal/palette"
)

// dashboardBalancer is a balancer whose targets are never contacted: the
// dashboard page only names them.
func dashboardBalancer(t *testing.T, names ...string) *Balancer {
	t.Helper()
	var targets []Target
	for i, n := range names {
		targets = append(targets, Target{Name: n, URL: &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", 10001+i)}})
	}
	b, err := New(Config{Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func getDashboard(t *testing.T, b *Balancer, target string) *httptest.ResponseRecorder {
	t.Helper()
	return getDashboardAt(t, b, "127.0.0.1:8081", target)
}

// getDashboardAt gets the dashboard as a browser that opened it on host.
func getDashboardAt(t *testing.T, b *Balancer, host, target string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = host
	rec := httptest.NewRecorder()
	b.AdminHandler().ServeHTTP(rec, req)
	return rec
}

// shopURL returns the URL where the page shows the shop: its script's
// config, which the frame loads, after checking that the new-tab link and
// the Content-Security-Policy's frame-src agree with it.
func shopURL(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	page := rec.Body.String()
	app := pageConfig(t, page).App
	if link := `id="app-open" href="` + app + `"`; !strings.Contains(page, link) {
		t.Errorf("page lacks the new-tab link %s", link)
	}
	u, err := url.Parse(app)
	if err != nil {
		t.Fatalf("app %q: %v", app, err)
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if src := "frame-src " + u.Scheme + "://" + u.Host + ";"; !strings.Contains(csp, src) {
		t.Errorf("got CSP %q, want it to contain %q", csp, src)
	}
	return app
}

// TestDashboardPage checks the page: its inline style and script are the
// embedded files and the only ones its Content-Security-Policy allows, the
// frame shows the balancer's URL, and the script gets every target with
// its colour and its state, so that the first paint needs no API call.
func TestDashboardPage(t *testing.T) {
	b := dashboardBalancer(t, "app-1", "app-2", "web")
	if _, ok := b.Drain("app-2"); !ok {
		t.Fatal("drain app-2: no such target")
	}
	// With nothing in flight, the drain ends by itself: the page and the
	// status compared with it must both come after.
	waitFor(t, "app-2 unused", func() bool { return b.Targets()[1].State == StateUnused })
	rec := getDashboard(t, b, "/?app=http://127.0.0.1:9090/")
	if rec.Code != http.StatusOK {
		t.Fatalf("got status %d, want 200: %s", rec.Code, rec.Body)
	}
	page := rec.Body.String()
	csp := rec.Header().Get("Content-Security-Policy")

	// The inline elements are the embedded files, in order, each allowed
	// by its hash.
	for _, inline := range []struct {
		tag, directive string
		files          []string
	}{
		{"style", "style-src", []string{"web/dashboard.css"}},
		{"script", "script-src", dashboardScripts()},
	} {
		m := regexp.MustCompile(`(?s)<`+inline.tag+`>(.*?)</`+inline.tag+`>`).FindAllStringSubmatch(page, -1)
		if len(m) != len(inline.files) {
			t.Fatalf("got %d inline <%s> elements, want %d", len(m), inline.tag, len(inline.files))
		}
		var hashes []string
		for i, file := range inline.files {
			want, err := webFS.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if m[i][1] != string(want) {
				t.Errorf("inline <%s> %d differs from %s", inline.tag, i+1, file)
			}
			sum := sha256.Sum256([]byte(m[i][1]))
			hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		if d := inline.directive + " " + strings.Join(hashes, " ") + ";"; !strings.Contains(csp, d) {
			t.Errorf("got CSP %q, want it to contain %q", csp, d)
		}
	}
	for _, d := range []string{"default-src 'none'", "connect-src 'self'", "frame-src http://127.0.0.1:9090;", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("got CSP %q, want it to contain %q", csp, d)
		}
	}
	if got := shopURL(t, rec); got != "http://127.0.0.1:9090/" {
		t.Errorf("got shop %q, want http://127.0.0.1:9090/", got)
	}
	// The frame has no src: the script loads the shop once the event
	// stream is open, so that the stream shows the shop's first request.
	if !strings.Contains(page, `<iframe id="app" title=`) {
		t.Errorf("page lacks the shop's frame without src:\n%s", page)
	}
	// Nothing from elsewhere: no build step, no CDN, no external font.
	if m := regexp.MustCompile(`(?:src|href)="(?:https?:)?//[^"]*"`).FindAllString(page, -1); len(m) != 1 {
		t.Errorf("got external references %q, want only the shop's new-tab link", m)
	}

	cfg := pageConfig(t, page)
	status := b.Targets()
	if status[1].State == status[0].State {
		t.Fatalf("app-2 after a drain: got state %s, as app-1's; want another (the page must show each target's own)", status[1].State)
	}
	want := dashboardConfig{App: "http://127.0.0.1:9090/", Targets: []dashboardTarget{
		{"app-1", palette.Color("app-1"), status[0]}, {"app-2", palette.Color("app-2"), status[1]},
		{"web", palette.Color("web"), status[2]},
	}}
	if got, _ := json.Marshal(cfg); string(got) != mustJSON(t, want) {
		t.Errorf("got config %s, want %s", got, mustJSON(t, want))
	}
	for h, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("got %s %q, want %q", h, got, want)
		}
	}
}

// pageConfig returns what the dashboard page tells its script.
func pageConfig(t *testing.T, page string) dashboardConfig {
	t.Helper()
	m := regexp.MustCompile(`data-config="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no data-config in the page")
	}
	var cfg dashboardConfig
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &cfg); err != nil {
		t.Fatalf("data-config: %v", err)
	}
	return cfg
}

// TestDashboardKnowsNothingOfTheLab: the balancer's own page has no control
// for routes it does not serve; a host's DashboardScript runs after the
// page's scripts and is allowed by its hash.
func TestDashboardKnowsNothingOfTheLab(t *testing.T) {
	page := getDashboard(t, dashboardBalancer(t, "app-1"), "/").Body.String()
	for _, lab := range []string{"/api/instances", "/api/store", "Kill", "store-control"} {
		if strings.Contains(page, lab) {
			t.Errorf("the page of a plain balancer mentions %q", lab)
		}
	}

	const ext = "dashboard.onCard((c) => { c.proc.textContent = 'hosted'; });"
	b, err := New(Config{
		Targets:         []Target{{Name: "app-1", URL: &url.URL{Scheme: "http", Host: "127.0.0.1:10001"}}},
		DashboardScript: ext,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := getDashboard(t, b, "/")
	page = rec.Body.String()
	own := strings.LastIndex(page, "document.addEventListener('DOMContentLoaded', start)")
	if i := strings.Index(page, "<script>"+ext+"</script>"); i < 0 || i < own {
		t.Errorf("the extension is not an inline script after the page's own (at %d, the page's start at %d)", i, own)
	}
	sum := sha256.Sum256([]byte(ext))
	if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(rec.Header().Get("Content-Security-Policy"), h) {
		t.Errorf("the CSP does not allow the extension's hash %s", h)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDashboardAppURL checks which URLs the dashboard agrees to frame: the
// balancer on the dashboard's own host only.
func TestDashboardAppURL(t *testing.T) {
	b := dashboardBalancer(t, "app-1")
	tests := []struct {
		name, query string
		status      int
		shop        string // want as the shop's URL
		msg         string // want in the error
	}{
		{"default: port 8080 of this host", "/", 200, "http://127.0.0.1:8080/", ""},
		{"explicit", "/?app=http://127.0.0.1:18080", 200, "http://127.0.0.1:18080/", ""},
		{"https and a path", "/?app=https://127.0.0.1:8443/shop", 200, "https://127.0.0.1:8443/shop", ""},
		{"query and fragment dropped", "/?app=" + url.QueryEscape("http://127.0.0.1:80/?x=1#y"), 200, "http://127.0.0.1:80/", ""},
		{"another host", "/?app=http://evil.example:8080/", 400, "", `host "evil.example" is not this dashboard's host "127.0.0.1"`},
		{"javascript scheme", "/?app=javascript:alert(1)", 400, "", "want the balancer's http:// or https:// URL on this host"},
		{"no host", "/?app=/relative", 400, "", "want the balancer's http:// or https:// URL"},
		{"user info", "/?app=http://u:p@127.0.0.1:8080/", 400, "", "want the balancer's"},
		{"bad port", "/?app=http://127.0.0.1:99999/", 400, "", `port "99999"`},
		{"not a URL", "/?app=" + url.QueryEscape("http://[::1"), 400, "", "want the balancer's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := getDashboard(t, b, tt.query)
			if rec.Code != tt.status {
				t.Fatalf("got status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			body := rec.Body.String()
			if tt.shop != "" {
				if got := shopURL(t, rec); got != tt.shop {
					t.Errorf("got shop %q, want %q", got, tt.shop)
				}
			}
			if tt.msg != "" && !strings.Contains(body, tt.msg) {
				t.Errorf("got error %q, want it to contain %q", body, tt.msg)
			}
		})
	}
}

// TestDashboardWhoami checks that GET /?whoami names a browser as the
// events of its requests do: by the label in its stickiness cookie, or by
// the hash that cookie-less requests get.
func TestDashboardWhoami(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1"})
	}))
	t.Cleanup(backend.Close)
	u, _ := url.Parse(backend.URL)
	tests := []struct {
		sticky, appCookie, cookie string // cookie: the balancer's cookie the browser keeps
		labelPrefix               string
	}{
		{StickyDuration, "", cookieLB, "c-"},
		{StickyApp, "session", cookieApp, "c-"},
		{StickyNone, "", "", "a-"},
	}
	for _, tt := range tests {
		t.Run(tt.sticky, func(t *testing.T) {
			b, err := New(Config{Targets: []Target{{Name: "app-1", URL: u}}, Sticky: tt.sticky, AppCookie: tt.appCookie})
			if err != nil {
				t.Fatal(err)
			}
			events, cancel := b.Subscribe()
			defer cancel()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("User-Agent", "test-browser")
			rec := httptest.NewRecorder()
			b.ServeHTTP(rec, req) // no Serve: fail-open sends it to the initial target
			e := <-events

			who := httptest.NewRequest(http.MethodGet, "/?whoami", nil)
			who.Header.Set("User-Agent", "test-browser")
			for _, c := range rec.Result().Cookies() {
				if c.Name == tt.cookie || c.Name == tt.appCookie {
					who.AddCookie(c)
				}
			}
			got := httptest.NewRecorder()
			b.AdminHandler().ServeHTTP(got, who)
			var body struct{ Client string }
			if err := json.Unmarshal(got.Body.Bytes(), &body); err != nil {
				t.Fatalf("got %s: %v", got.Body, err)
			}
			if body.Client != e.Client || !strings.HasPrefix(body.Client, tt.labelPrefix) {
				t.Errorf("got client %q, want the event's %q starting with %s", body.Client, e.Client, tt.labelPrefix)
			}

			// A forged cookie is no cookie: the address hash.
			who.Header.Set("Cookie", tt.cookie+"=forged")
			got = httptest.NewRecorder()
			b.AdminHandler().ServeHTTP(got, who)
			if !strings.Contains(got.Body.String(), `"client":"a-`) {
				t.Errorf("with a forged cookie got %s, want the address label", got.Body)
			}
		})
	}
}

// TestDashboardFramesServedProxy checks that a serving balancer's dashboard
// frames its own proxy listener by default, whatever its port, and the
// public URL when it has one (a container's published port).
func TestDashboardFramesServedProxy(t *testing.T) {
	_, targets := backends(t, 1)
	for _, tt := range []struct {
		name, public, want string // want: "" for the proxy listener
	}{
		{"no public URL", "", ""},
		{"public port", "http://:28080/", "http://127.0.0.1:28080/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := serve(t, Config{Targets: targets, PublicURL: tt.public})
			want := tt.want
			if want == "" {
				want = r.url + "/"
			}
			_, body := do(t, http.DefaultClient, "GET", r.admin+"/", nil)
			if got := pageConfig(t, body).App; got != want {
				t.Errorf("got shop %q, want %q", got, want)
			}
		})
	}
}

// TestDashboardPublicURL checks where the dashboard shows the shop when
// the balancer knows its public URL, as behind docker compose with
// LB_PORT=28080: on the port browsers reach, not the listener's own.
func TestDashboardPublicURL(t *testing.T) {
	tests := []struct {
		name, public, host, query string
		want                      string
	}{
		{"port only: the dashboard's host", "http://:28080/", "127.0.0.1:28081", "/", "http://127.0.0.1:28080/"},
		{"port only, opened as localhost", "http://:28080", "localhost:28081", "/", "http://localhost:28080/"},
		{"port only, IPv6", "http://:28080/", "[::1]:28081", "/", "http://[::1]:28080/"},
		{"full URL", "https://shop.example/lab", "127.0.0.1:28081", "/", "https://shop.example/lab"},
		{"full URL on loopback", "http://localhost:28080/", "127.0.0.1:28081", "/", "http://localhost:28080/"},
		{"?app= wins", "http://:28080/", "127.0.0.1:28081", "/?app=http://127.0.0.1:9000/", "http://127.0.0.1:9000/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New(Config{Targets: dashboardBalancer(t, "app-1").cfg.Targets, PublicURL: tt.public})
			if err != nil {
				t.Fatal(err)
			}
			rec := getDashboardAt(t, b, tt.host, tt.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("got status %d, want 200: %s", rec.Code, rec.Body)
			}
			if got := shopURL(t, rec); got != tt.want {
				t.Errorf("got shop %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPublicURLRefused checks the public URLs New refuses, naming the field.
func TestPublicURLRefused(t *testing.T) {
	tests := []struct{ name, public, msg string }{
		{"no scheme", "localhost:28080", "want an http:// or https:// URL"},
		{"other scheme", "ftp://localhost:28080/", "want an http:// or https:// URL"},
		{"no host and no port", "http:///", "want a host name, a port or both"},
		{"user", "http://u:p@localhost:28080/", "no user, query or fragment"},
		{"query", "http://localhost:28080/?x=1", "no user, query or fragment"},
		{"fragment", "http://:28080/#top", "no user, query or fragment"},
		{"port 0", "http://:0/", `port "0"`},
		{"port too big", "http://localhost:65536/", `port "65536"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Targets: dashboardBalancer(t, "app-1").cfg.Targets, PublicURL: tt.public})
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "PublicURL" || fe.Value != tt.public {
				t.Fatalf("got error %v, want a FieldError for PublicURL %q", err, tt.public)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got error %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}

// TestDashboardLegend checks that the request stream's legend explains
// every mark stream.js puts on a request: the sticky decisions and the
// retry mark of passive failover.
func TestDashboardLegend(t *testing.T) {
	page := getDashboard(t, dashboardBalancer(t, "app-1"), "/").Body.String()
	legend := regexp.MustCompile(`(?s)<ul class="legend">.*?</ul>`).FindString(page)
	stream, err := webFS.ReadFile("web/stream.js")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mark   string
		script string // how stream.js writes the mark on a request
		legend string // how the legend shows it
	}{
		{"new", `new: ['new',`, `<span class="decision new">new</span>`},
		{"stuck", `stuck: ['stuck',`, `<span class="decision stuck">stuck</span>`},
		{"re-stuck", `restuck: ['re-stuck',`, `<span class="decision restuck">re-stuck</span>`},
		{"retry", "el('span', 'retry', `↻${e.retries}`)", `<span class="retry">↻</span>`},
	}
	for _, tt := range tests {
		if !strings.Contains(string(stream), tt.script) {
			t.Errorf("%s: stream.js lacks %s (update this test with the stream's marks)", tt.mark, tt.script)
		}
		if !strings.Contains(legend, tt.legend) {
			t.Errorf("%s: got legend %s, want it to contain %s", tt.mark, legend, tt.legend)
		}
	}
}
