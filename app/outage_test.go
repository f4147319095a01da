package app

import (
	"net/http"
	"slices"
	"testing"

	"stickylab/internal/redistest"
)

// TestRedisOutage freezes a real redis-server in the middle of a session
// (SIGSTOP: connections stay open, nothing answers), then resumes it. During
// the outage the app answers 503 and is not ready; afterwards the same
// cookie finds the session intact, with no restart of the app.
func TestRedisOutage(t *testing.T) {
	rs := redistest.Start(t)
	srv := serve(t, "app-1", newRedisStore(t, rs.Addr))
	c := newClient(t)
	c.postJSON(srv.URL+"/api/login", `{"username":"ada"}`, 200)
	c.postJSON(srv.URL+"/api/cart", `{"item":"tea"}`, 200)
	cookie := c.cookie(srv.URL)

	rs.Stop()
	stopped := true
	t.Cleanup(func() {
		if stopped {
			rs.Continue()
		}
	})
	during := []struct {
		name, method, path, ctype, body string
	}{
		{"session", "GET", "/api/session", "", ""},
		{"cart", "POST", "/api/cart", jsonType, `{"item":"lost"}`},
		{"login", "POST", "/api/login", jsonType, `{"username":"eve"}`},
		{"readyz", "GET", "/readyz", "", ""},
	}
	for _, tt := range during {
		r := c.do(tt.method, srv.URL+tt.path, tt.ctype, tt.body)
		if r.status != http.StatusServiceUnavailable || r.body != `{"error":"session store unavailable"}`+"\n" {
			t.Errorf("%s during the outage: got %d %q, want 503 {\"error\":\"session store unavailable\"}", tt.name, r.status, r.body)
		}
	}
	if r := c.do("GET", srv.URL+"/healthz", "", ""); r.status != http.StatusOK {
		t.Errorf("healthz during the outage: got %d, want 200 (the process is alive)", r.status)
	}
	if got := c.cookie(srv.URL); got != cookie {
		t.Errorf("the outage changed the cookie from %q to %q", cookie, got)
	}

	rs.Continue()
	stopped = false
	if r := c.do("GET", srv.URL+"/readyz", "", ""); r.status != http.StatusOK {
		t.Errorf("readyz after the outage: got %d %s, want 200", r.status, r.body)
	}
	got := c.session(srv.URL)
	if got.User != "ada" || !slices.Equal(got.Cart, []string{"tea"}) {
		t.Errorf("after the outage: got %+v, want ada with [tea] and nothing written during it", got)
	}
	if got.Visits != 1 {
		t.Errorf("after the outage: got visits %d, want 1 (the failed view during it not counted)", got.Visits)
	}
}
