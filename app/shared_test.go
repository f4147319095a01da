package app

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"stickylab/internal/redistest"
)

// TestSessionsAcrossInstances is the lesson in one test: two instances and
// one browser (one cookie jar). With a shared Redis and a shared key, a login
// on one instance is seen on the other; with memory stores it is not.
func TestSessionsAcrossInstances(t *testing.T) {
	tests := []struct {
		name       string
		stores     func(t *testing.T) (Store, Store)
		wantShared bool
	}{
		{"shared redis", func(t *testing.T) (Store, Store) {
			mr := miniredis.RunT(t)
			return newRedisStore(t, mr.Addr()), newRedisStore(t, mr.Addr())
		}, true},
		{"cookie store, no server state", func(t *testing.T) (Store, Store) {
			return newCookieStore(t), newCookieStore(t)
		}, true},
		{"separate memory", func(t *testing.T) (Store, Store) {
			return newMemoryStore(t, nil), newMemoryStore(t, nil)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s1, s2 := tt.stores(t)
			app1, app2 := serve(t, "app-1", s1), serve(t, "app-2", s2)
			// One browser: the jar keys cookies by host, and both servers
			// listen on 127.0.0.1, as behind one balancer.
			c := newClient(t)
			c.postJSON(app1.URL+"/api/login", `{"username":"ada"}`, 200)
			c.postJSON(app1.URL+"/api/cart", `{"item":"tea"}`, 200)

			got := c.session(app2.URL)
			if got.Instance != "app-2" {
				t.Errorf("got instance %q, want app-2", got.Instance)
			}
			if tt.wantShared {
				if !got.LoggedIn || got.User != "ada" || !slices.Equal(got.Cart, []string{"tea"}) {
					t.Errorf("app-2 got %+v, want ada with [tea]", got)
				}
				c.postJSON(app2.URL+"/api/cart", `{"item":"cake"}`, 200)
				if got := c.session(app1.URL).Cart; !slices.Equal(got, []string{"tea", "cake"}) {
					t.Errorf("back on app-1: got cart %q, want [tea cake]", got)
				}
			} else if got.LoggedIn || len(got.Cart) != 0 {
				t.Errorf("app-2 got %+v, want a fresh session: memory stores share nothing", got)
			}
		})
	}
}

// TestConcurrentCartAdds sends 50 additions to one session at once: none may
// be lost.
func TestConcurrentCartAdds(t *testing.T) {
	tests := []struct {
		name  string
		store func(t *testing.T) Store
	}{
		{"memory", func(t *testing.T) Store { return newMemoryStore(t, nil) }},
		{"redis-server", func(t *testing.T) Store { return newRedisStore(t, redistest.Start(t).Addr) }},
	}
	const n = 50
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, "app-1", tt.store(t))
			c := newClient(t)
			c.postJSON(srv.URL+"/api/login", `{"username":"ada"}`, 200)

			var wg sync.WaitGroup
			errs := make(chan string, n)
			for i := range n {
				wg.Go(func() {
					r := c.do(http.MethodPost, srv.URL+"/api/cart", jsonType, fmt.Sprintf(`{"item":"item-%02d"}`, i))
					if r.status != http.StatusOK {
						errs <- fmt.Sprintf("item-%02d: got status %d, want 200; body %s", i, r.status, r.body)
					}
				})
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			cart := c.session(srv.URL).Cart
			slices.Sort(cart)
			want := make([]string, n)
			for i := range want {
				want[i] = fmt.Sprintf("item-%02d", i)
			}
			if !slices.Equal(cart, want) {
				t.Errorf("got %d items %s, want the %d distinct items", len(cart), strings.Join(cart, ","), n)
			}
		})
	}
}

// TestConcurrentCartAddsAcrossInstances sends concurrent additions to one
// session through two instances sharing a real Redis: the in-instance lock
// cannot help there, only the store's compare-and-set and the re-apply loop.
func TestConcurrentCartAddsAcrossInstances(t *testing.T) {
	rs := redistest.Start(t)
	apps := []*testServer{serve(t, "app-1", newRedisStore(t, rs.Addr)), serve(t, "app-2", newRedisStore(t, rs.Addr))}
	c := newClient(t)
	c.postJSON(apps[0].URL+"/api/login", `{"username":"ada"}`, 200)

	// Two writers, one per instance, each adding its items one after the
	// other: every save races with the other instance's, and with bounded
	// retries each must still get through.
	const perApp = 10
	var wg sync.WaitGroup
	errs := make(chan string, 2*perApp)
	for a, srv := range apps {
		wg.Go(func() {
			for i := range perApp {
				r := c.do(http.MethodPost, srv.URL+"/api/cart", jsonType, fmt.Sprintf(`{"item":"app%d-%02d"}`, a+1, i))
				if r.status != http.StatusOK {
					errs <- fmt.Sprintf("app-%d item %d: got status %d, want 200; body %s", a+1, i, r.status, r.body)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := len(c.session(apps[1].URL).Cart); got != 2*perApp {
		t.Errorf("got %d items, want %d", got, 2*perApp)
	}
}
