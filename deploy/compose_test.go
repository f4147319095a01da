// Package deploy_test runs the lab's docker-compose.yml for real: the lesson
// of the tutorial, with containers instead of processes, on host ports that
// are not the defaults.
//
// It builds an image and runs containers for minutes, so it runs only when
// asked: STICKYLAB_DOCKER=1 go test ./deploy, or STICKYLAB_REQUIRE naming
// docker (as scripts/ci.sh does, which also makes a missing Docker a
// failure). Otherwise it skips and says so. It needs a Docker engine and
// Compose (v2 "docker compose" or v1 "docker-compose"). Images that cannot be
// pulled are made by scripts/offline-images.sh.
//
// It is polite to the machine: its own compose project, ports and image tag,
// and at the end it removes exactly what it made (the project's containers,
// network and volumes, the images its build made); never an image, container
// or volume of the user's, never a prune.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestComposeLab(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images and runs containers for minutes; not in -short mode")
	}
	s := newStack(t)

	t.Run("memory store: killing the serving instance logs the user out", func(t *testing.T) {
		_, served, got := killServing(t, s, "memory", "ada")
		if got.LoggedIn {
			t.Errorf("after the kill of %s, %s served logged_in=%v user=%q; want logged out (its memory never had the session)",
				served, got.Instance, got.LoggedIn, got.User)
		}
		if got.Store != "memory" {
			t.Errorf("store: got %q, want memory", got.Store)
		}
	})

	t.Run("redis store: the session survives an instance kill and a redis restart", func(t *testing.T) {
		u, served, got := killServing(t, s, "redis", "grace")
		if !got.LoggedIn || got.User != "grace" {
			t.Fatalf("after the kill of %s, %s served logged_in=%v user=%q; want logged in as grace (the session is in Redis)",
				served, got.Instance, got.LoggedIn, got.User)
		}
		if got.Store != "redis" {
			t.Errorf("store: got %q, want redis", got.Store)
		}

		// What the README shows: the session is a Redis key with a TTL.
		keys := strings.Fields(s.must(t, "exec", "-T", "redis", "redis-cli", "--scan"))
		if len(keys) == 0 {
			t.Fatal("redis-cli --scan: no keys; want the session")
		}
		ttl, err := strconv.Atoi(strings.TrimSpace(s.must(t, "exec", "-T", "redis", "redis-cli", "TTL", keys[0])))
		if err != nil || ttl <= 0 {
			t.Errorf("redis-cli TTL %s: got %d (%v), want a positive number of seconds", keys[0], ttl, err)
		}

		// AOF with appendfsync everysec: a restart keeps the sessions.
		s.must(t, "restart", "redis")
		after := u.sessionAfter(t, "the restart of redis", "")
		if !after.LoggedIn || after.User != "grace" {
			t.Errorf("after the restart of redis, %s served logged_in=%v user=%q; want logged in as grace (AOF)",
				after.Instance, after.LoggedIn, after.User)
		}
		if after.Visits <= got.Visits {
			t.Errorf("visits after the restart: got %d, want more than %d (the count from before)", after.Visits, got.Visits)
		}
	})

	t.Run("two balancer nodes: a client alternating between lb and lb2 stays on its instance", func(t *testing.T) {
		twoNodes(t, s)
	})

	t.Run("ha profile: killing the Redis primary logs nobody out", func(t *testing.T) {
		haFailover(t, s)
	})
}

// twoNodes is ALB's several nodes: lb and lb2 share the cookie key and the
// targets, and nothing else. With memory sessions, a user who stays logged
// in while alternating between them was served by one instance throughout.
func twoNodes(t *testing.T, s *stack) {
	t.Helper()
	s.up(t, "memory", "app")
	// lb2 runs its own health checks: wait until it serves all three
	// instances to a client without cookies (round robin; an anonymous
	// request stores no session).
	lb2 := fmt.Sprintf("http://127.0.0.1:%d", s.lb2Port)
	seen := map[string]bool{}
	if !poll(t, recoverTimeout, func() bool {
		anon := &user{client: &http.Client{Timeout: 10 * time.Second}, base: lb2}
		if v, _, err := anon.do(http.MethodGet, "/api/session", nil); err == nil {
			seen[v.Instance] = true
		}
		return len(seen) == 3
	}) {
		t.Fatalf("lb2 on port %d served %v within %v; want all three instances", s.lb2Port, seen, recoverTimeout)
	}
	u := newUser(t, s)
	served := u.login(t, "lin")
	other := &user{client: u.client, base: lb2} // the same browser: one cookie jar
	for i := range 8 {
		node, c := "lb", u
		if i%2 == 0 {
			node, c = "lb2", other
		}
		v, _, err := c.do(http.MethodGet, "/api/session", nil)
		if err != nil {
			t.Fatalf("request %d, through %s: %v", i+1, node, err)
		}
		if v.Instance != served || !v.LoggedIn || v.User != "lin" {
			t.Fatalf("request %d, through %s: %s served logged_in=%v user=%q; want %s, logged in as lin (the cookie names the target on every node)",
				i+1, node, v.Instance, v.LoggedIn, v.User, served)
		}
	}
}

// killServing is the tutorial's story: it brings the lab up with the store
// mode and the blog's app stickiness, logs name in through the balancer,
// checks that the user stays on one instance, kills that instance's service
// and returns the user, the killed instance and what the balancer answers
// next.
func killServing(t *testing.T, s *stack, store, name string) (*user, string, sessionView) {
	t.Helper()
	s.up(t, store, "app")
	s.dashboardShowsShop(t)
	u := newUser(t, s)
	served := u.login(t, name)
	u.stuck(t, served, 3)
	s.kill(t, served)
	// The README's promise: the very next request is answered, by another
	// instance (passive failover), not after a wait on the dead one.
	if got, status, err := u.do(http.MethodGet, "/api/session", nil); err != nil || status != http.StatusOK || got.Instance == served {
		t.Errorf("first request after the kill of %s: status %d, instance %q, err %v; want 200 from another instance at once", served, status, got.Instance, err)
	}
	return u, served, u.sessionAfter(t, "the kill of "+served, served)
}

// sessionView is GET /api/session's JSON.
type sessionView struct {
	Instance string   `json:"instance"`
	Store    string   `json:"store"`
	LoggedIn bool     `json:"logged_in"`
	User     string   `json:"user"`
	Visits   int      `json:"visits"`
	Cart     []string `json:"cart"`
}

// user is a browser: a cookie jar talking to the balancer's published port.
type user struct {
	client *http.Client
	base   string
}

func newUser(t *testing.T, s *stack) *user {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &user{
		client: &http.Client{Jar: jar, Timeout: 10 * time.Second},
		base:   fmt.Sprintf("http://127.0.0.1:%d", s.lbPort),
	}
}

// do sends one request and decodes the session JSON of a 200 answer. It
// returns the status, and an error for a failed request or a 200 whose JSON
// or X-Stickylab-Instance header is wrong.
func (u *user) do(method, path string, body any) (sessionView, int, error) {
	var v sessionView
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return v, 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u.base+path, rd)
	if err != nil {
		return v, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return v, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return v, resp.StatusCode, fmt.Errorf("%s %s: %s: %w", method, path, resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK {
		return v, resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(raw))
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, resp.StatusCode, fmt.Errorf("%s %s: %v in %q", method, path, err, raw)
	}
	if h := resp.Header.Get("X-Stickylab-Instance"); h != v.Instance {
		return v, resp.StatusCode, fmt.Errorf("%s %s: X-Stickylab-Instance %q, JSON instance %q; want the same", method, path, h, v.Instance)
	}
	return v, resp.StatusCode, nil
}

// login logs in as name and returns the instance that serves the user.
func (u *user) login(t *testing.T, name string) string {
	t.Helper()
	if _, _, err := u.do(http.MethodPost, "/api/login", map[string]string{"username": name}); err != nil {
		t.Fatalf("log in as %s: %v", name, err)
	}
	v, _, err := u.do(http.MethodGet, "/api/session", nil)
	if err != nil {
		t.Fatalf("after login: %v", err)
	}
	if !v.LoggedIn || v.User != name {
		t.Fatalf("after login: %s served logged_in=%v user=%q; want logged in as %s", v.Instance, v.LoggedIn, v.User, name)
	}
	if !instanceName.MatchString(v.Instance) {
		t.Fatalf("after login: instance %q, want one of app-1, app-2, app-3", v.Instance)
	}
	return v.Instance
}

// stuck checks that n more requests all go to instance, logged in, each one
// counted.
func (u *user) stuck(t *testing.T, instance string, n int) {
	t.Helper()
	prev := -1
	for i := range n {
		v, _, err := u.do(http.MethodGet, "/api/session", nil)
		if err != nil {
			t.Fatalf("request %d after login: %v", i+1, err)
		}
		if v.Instance != instance || !v.LoggedIn {
			t.Fatalf("request %d after login: %s served logged_in=%v; want %s, logged in (stickiness)", i+1, v.Instance, v.LoggedIn, instance)
		}
		if v.Visits <= prev {
			t.Fatalf("request %d after login: visits %d, want more than %d", i+1, v.Visits, prev)
		}
		prev = v.Visits
	}
}

// sessionAfter waits until the balancer answers GET /api/session with 200
// from an instance other than gone ("" for any), after event, and returns
// what it said. Errors and 5xx on the way are expected: the balancer and the
// instances notice a dead instance or store within seconds.
func (u *user) sessionAfter(t *testing.T, event, gone string) sessionView {
	t.Helper()
	var v sessionView
	var last string
	ok := poll(t, recoverTimeout, func() bool {
		got, _, err := u.do(http.MethodGet, "/api/session", nil)
		switch {
		case err != nil:
			last = err.Error()
			return false
		case got.Instance == gone:
			last = "served by " + gone + ", which was killed"
			return false
		}
		v = got
		return true
	})
	if !ok {
		t.Fatalf("after %s: no answer from a live instance within %v; last: %s", event, recoverTimeout, last)
	}
	return v
}

var instanceName = regexp.MustCompile(`^app-[1-3]$`)

// dashboardShowsShop checks that the dashboard, opened on its published
// port, shows the shop (its frame, its new-tab link, the frame-src its
// Content-Security-Policy allows) at the balancer's published port, which
// the browser reaches, not at :8080 inside the container; and that the shop
// answers there.
func (s *stack) dashboardShowsShop(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	dashboard := fmt.Sprintf("http://127.0.0.1:%d/", s.dashPort)
	resp, err := client.Get(dashboard)
	if err != nil {
		t.Fatalf("GET %s: %v", dashboard, err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", dashboard, resp.Status, err)
	}
	want := fmt.Sprintf("http://127.0.0.1:%d/", s.lbPort)
	var cfg struct{ App string }
	if m := dataConfig.FindSubmatch(page); m == nil {
		t.Errorf("GET %s: no data-config in the page", dashboard)
	} else if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &cfg); err != nil || cfg.App != want {
		t.Errorf("dashboard on port %d: got the shop at %q (%v), want %s (LB_PORT=%d)", s.dashPort, cfg.App, err, want, s.lbPort)
	}
	if link := `id="app-open" href="` + want + `"`; !bytes.Contains(page, []byte(link)) {
		t.Errorf("dashboard on port %d: no new-tab link %s", s.dashPort, link)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if src := "frame-src " + strings.TrimSuffix(want, "/") + ";"; !strings.Contains(csp, src) {
		t.Errorf("dashboard's CSP %q: want %s", csp, src)
	}
	shop, err := client.Get(want)
	if err != nil {
		t.Fatalf("GET %s (the shop the dashboard shows): %v", want, err)
	}
	shop.Body.Close()
	if shop.StatusCode != http.StatusOK || !instanceName.MatchString(shop.Header.Get("X-Stickylab-Instance")) {
		t.Errorf("GET %s (the shop the dashboard shows): %s from %q, want 200 from an instance", want, shop.Status, shop.Header.Get("X-Stickylab-Instance"))
	}
}

var dataConfig = regexp.MustCompile(`data-config="([^"]*)"`)

// kill kills the service of an instance (app-2 is service app2), as the
// README has the user do.
func (s *stack) kill(t *testing.T, instance string) {
	t.Helper()
	s.must(t, "kill", strings.ReplaceAll(instance, "-", ""))
}
