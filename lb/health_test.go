package lb

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHealthStates: failed checks make a target unhealthy after the
// threshold, passed checks bring it back after the healthy threshold, and
// each change is an event with its reason.
func TestHealthStates(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, ts := backends(t, 2)
		r := serve(t, Config{Engine: engine, Targets: ts, HealthyThreshold: 3, UnhealthyThreshold: 2})
		events, cancel := r.Subscribe()
		defer cancel()
		waitHealthy(t, r)

		bs[1].healthy.Store(false)
		e := awaitState(t, events, "app-2", "unhealthy")
		if e.PrevState != "healthy" || e.Reason != "health check: status 503" {
			t.Errorf("event %+v, want app-2 healthy -> unhealthy for status 503", e)
		}
		for i := range 4 {
			if _, body := do(t, http.DefaultClient, "GET", r.url+"/", nil); body != "app-1" {
				t.Fatalf("request %d went to %s while app-2 is unhealthy", i, body)
			}
		}
		bs[1].healthy.Store(true)
		e = awaitState(t, events, "app-2", "healthy")
		if e.PrevState != "unhealthy" || e.Reason != "health check passed" {
			t.Errorf("event %+v, want app-2 unhealthy -> healthy", e)
		}

		bs[1].kill()
		e = awaitState(t, events, "app-2", "unhealthy")
		if e.Reason != "health check: connection refused" {
			t.Errorf("event %+v, want app-2 unhealthy for connection refused", e)
		}
		bs[1].restart(t)
		awaitState(t, events, "app-2", "healthy")
	})
}

// awaitState returns the event of the target name entering state.
func awaitState(t *testing.T, events <-chan Event, name, state string) Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Kind == EventTarget && e.Target == name && e.State == state {
				return e
			}
		case <-timeout:
			t.Fatalf("%s did not become %s", name, state)
		}
	}
}

// TestFailOpen: when every target is unhealthy, requests go to all of them,
// as on ALB.
func TestFailOpen(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, ts := backends(t, 3)
		r := serve(t, Config{Engine: engine, Targets: ts, UnhealthyThreshold: 1})
		waitHealthy(t, r)
		for _, b := range bs {
			b.healthy.Store(false)
		}
		waitFor(t, "all targets unhealthy", func() bool {
			for _, ts := range r.Targets() {
				if ts.State != "unhealthy" {
					return false
				}
			}
			return true
		})
		seen := map[string]bool{}
		for range 6 {
			resp, body := do(t, http.DefaultClient, "GET", r.url+"/", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d with every target unhealthy, want 200 (fail-open)", resp.StatusCode)
			}
			seen[body] = true
		}
		if len(seen) != 3 {
			t.Errorf("fail-open reached %v, want all 3 targets", seen)
		}
	})
}

// TestInitialTargetsServeOnFailOpen: before any check has passed, every
// target is initial, and requests are routed to all of them.
func TestInitialTargetsServeOnFailOpen(t *testing.T) {
	_, ts := backends(t, 2)
	b, err := New(Config{Targets: ts})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range b.Targets() {
		if st.State != "initial" {
			t.Errorf("%s starts %s, want initial", st.Name, st.State)
		}
	}
	req, _ := http.NewRequest("GET", "http://lb.test/", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	rec := newRecorder()
	b.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "app-") {
		t.Errorf("got %d %q, want 200 from a target while all are initial", rec.Code, rec.Body.String())
	}
}

// TestRestickAndStay: when the bound target dies, the next request goes to
// another target with a rewritten cookie, and the client stays there after
// the old target is back.
func TestRestickAndStay(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, mode := range []string{StickyDuration, StickyApp} {
			t.Run(mode, func(t *testing.T) {
				bs, ts := backends(t, 3)
				r := serve(t, Config{Engine: engine, Targets: ts, Sticky: mode, AppCookie: testAppCookie, PassiveFailover: true})
				waitHealthy(t, r)
				c := newClient(t)
				_, first := do(t, c, "POST", r.url+"/login", nil)
				var victim *backend
				for _, b := range bs {
					if b.name == first {
						victim = b
					}
				}
				events, cancel := r.Subscribe()
				defer cancel()
				victim.kill()

				resp, second := do(t, c, "GET", r.url+"/", nil)
				if resp.StatusCode != http.StatusOK || second == first {
					t.Fatalf("after killing %s: status %d from %q, want 200 from another target", first, resp.StatusCode, second)
				}
				if e := nextRequestEvent(t, events, "GET", "/"); e.Sticky != DecisionRestuck || e.Target != second {
					t.Errorf("event sticky %q target %q, want restuck to %s", e.Sticky, e.Target, second)
				}
				if len(resp.Header.Values("Set-Cookie")) == 0 {
					t.Errorf("no cookie rewritten after the re-stick")
				}
				victim.restart(t)
				waitFor(t, first+" healthy again", func() bool { return targetState(r, first) == "healthy" })
				for i := range 10 {
					if _, body := do(t, c, "GET", r.url+"/", nil); body != second {
						t.Fatalf("request %d after %s returned went to %s, want to stay on %s", i, first, body, second)
					}
				}
			})
		}
	})
}

// nextRequestEvent returns the next event of a request with method and
// path. Events are published once the response is sent, so an earlier
// request's event may still arrive after its response.
func nextRequestEvent(t *testing.T, events <-chan Event, method, path string) Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Kind == EventRequest && e.Method == method && e.Path == path {
				return e
			}
		case <-timeout:
			t.Fatal("no request event")
		}
	}
}
