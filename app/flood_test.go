package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"stickylab/internal/redistest"
	"stickylab/sessionstore"
)

// floodRequests is the size of the anonymous floods: about what wrk -c32
// sent in 25 seconds to one instance when every cookie-less request still
// stored a session, logging out every user of a memory store.
const floodRequests = 250_000

// flood sends n cookie-less GETs to an App on store, half to the page and
// half to /api/session, from two goroutines, straight into its handler (no
// sockets: the point is what the app and its store keep, not the network).
// The App logs nothing, so that only what the app and store keep stays on
// the heap. Every answer must be a 200 that sets no session cookie.
func flood(t *testing.T, store Store, n int) {
	t.Helper()
	a, err := New(Config{Name: "app-1"}, store)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 2)
	for g := range 2 {
		wg.Go(func() {
			for i := g; i < n; i += 2 {
				path := "/"
				if i%4 >= 2 {
					path = "/api/session"
				}
				w := httptest.NewRecorder()
				a.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
				if w.Code != http.StatusOK {
					errs <- fmt.Sprintf("GET %s: got status %d, want 200", path, w.Code)
					return
				}
				if sc := w.Header().Values("Set-Cookie"); len(sc) != 1 || !strings.HasPrefix(sc[0], DefaultCookieName+"_visits=1;") {
					errs <- fmt.Sprintf("GET %s without cookies: got Set-Cookie %q, want only %s_visits=1", path, sc, DefaultCookieName)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// counterValue is the sum of the counters called name in reg whose labels
// include the given name, value pairs.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// heapInUse is the live heap after collecting garbage, cleanups included.
func heapInUse() uint64 {
	var m runtime.MemStats
	for range 3 { // cleanups (the store's per-session state) run after a cycle
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// rankedMemoryApp serves an App on a memory store configured as stickylab
// app configures it (ranked by SessionRank), capped at maxSessions (0: the
// default), with the store's metrics in reg.
func rankedMemoryApp(t *testing.T, maxSessions int) (reg *prometheus.Registry, store *sessionstore.Store, srv *testServer) {
	t.Helper()
	reg = prometheus.NewRegistry()
	cfg := sessionstore.Config{Metrics: sessionstore.NewMetrics(reg), MaxSessions: maxSessions, Rank: SessionRank}
	store, err := sessionstore.NewMemory(testKeys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return reg, store, serve(t, "app-1", store)
}

// loggedIn logs a new client in as user on srv and adds an item.
func loggedIn(t *testing.T, srv *testServer, user string) *client {
	t.Helper()
	c := newClient(t)
	c.postJSON(srv.URL+"/api/login", `{"username":"`+user+`"}`, http.StatusOK)
	c.postJSON(srv.URL+"/api/cart", `{"item":"tea"}`, http.StatusOK)
	return c
}

func checkStillLoggedIn(t *testing.T, c *client, srv *testServer, user string) {
	t.Helper()
	if v := c.session(srv.URL); !v.LoggedIn || v.User != user || len(v.Cart) != 1 {
		t.Errorf("after the flood: got %+v, want %s still logged in with the cart", v, user)
	}
}

// TestAnonymousFloodMemory: 250,000 cookie-less requests store no session in
// a memory store, so they can neither evict a logged-in user nor grow the
// process.
func TestAnonymousFloodMemory(t *testing.T) {
	reg, store, srv := rankedMemoryApp(t, 0)
	ada := loggedIn(t, srv, "ada")

	written := func() float64 {
		return counterValue(t, reg, "stickylab_sessionstore_saves_total", "result", "written") +
			counterValue(t, reg, "stickylab_sessionstore_saves_total", "result", "renewed")
	}
	before, heapBefore := written(), heapInUse()
	flood(t, store, floodRequests)
	heapAfter := heapInUse()

	if got := written() - before; got != 0 {
		t.Errorf("the flood wrote %v sessions, want 0", got)
	}
	if got := counterValue(t, reg, "stickylab_sessionstore_evictions_total"); got != 0 {
		t.Errorf("the flood evicted %v sessions, want 0", got)
	}
	// A stored session per request was about 450 bytes: 250,000 of them
	// would be over 100 MB. A few megabytes is noise (the test's own
	// recorders, the runtime's caches).
	const slack = 4 << 20
	if heapAfter > heapBefore+slack {
		t.Errorf("the heap grew from %d to %d bytes over the flood, want at most %d more", heapBefore, heapAfter, slack)
	}
	checkStillLoggedIn(t, ada, srv, "ada")
}

// TestAnonymousFloodRedis: the same flood against a real redis-server leaves
// it with exactly the keys it had.
func TestAnonymousFloodRedis(t *testing.T) {
	rs := redistest.Start(t)
	store := newRedisStore(t, rs.Addr)
	srv := serve(t, "app-1", store)
	ada := loggedIn(t, srv, "ada")

	rc := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { rc.Close() })
	dbsize := func() int64 {
		n, err := rc.DBSize(context.Background()).Result()
		if err != nil {
			t.Fatalf("DBSIZE: %v", err)
		}
		return n
	}
	before := dbsize()
	if before != 1 {
		t.Fatalf("before the flood: got %d keys, want 1 (ada's session)", before)
	}
	flood(t, store, floodRequests)
	if after := dbsize(); after != before {
		t.Errorf("after %d anonymous requests: got %d keys, want %d", floodRequests, after, before)
	}
	checkStillLoggedIn(t, ada, srv, "ada")
}

// TestCartFloodKeepsLoggedInUsers: anonymous clients that each put an item
// in a cart do get stored sessions; past the cap, those are what the memory
// store evicts, never a logged-in user, however idle.
func TestCartFloodKeepsLoggedInUsers(t *testing.T) {
	const maxSessions = 100
	reg, _, srv := rankedMemoryApp(t, maxSessions)
	ada := loggedIn(t, srv, "ada")

	const carts = 3 * maxSessions
	for i := range carts {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/api/cart", strings.NewReader(fmt.Sprintf(`{"item":"item %d"}`, i)))
		r.Header.Set("Content-Type", "application/json")
		srv.app.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("POST /api/cart: got %d, want 200; body %s", w.Code, w.Body)
		}
	}
	if got, want := counterValue(t, reg, "stickylab_sessionstore_evictions_total", "rank", "1"), float64(carts-(maxSessions-1)); got != want {
		t.Errorf("cart sessions evicted: got %v, want %v (all but the %d that fit beside ada's)", got, want, maxSessions-1)
	}
	if got := counterValue(t, reg, "stickylab_sessionstore_evictions_total", "rank", "2"); got != 0 {
		t.Errorf("logged-in sessions evicted: got %v, want 0", got)
	}
	checkStillLoggedIn(t, ada, srv, "ada")
}

// TestLoginFloodEvictsOldestIdle: a flood of logins with fresh names is
// bounded by the cap, counted, and evicts the sessions idle the longest:
// the flood's own oldest ones, not a user who keeps using the site.
func TestLoginFloodEvictsOldestIdle(t *testing.T) {
	const maxSessions = 100
	reg, _, srv := rankedMemoryApp(t, maxSessions)
	ada := loggedIn(t, srv, "ada")

	const logins = 5 * maxSessions
	flooders := make([]*client, logins)
	for i := range flooders {
		flooders[i] = newClient(t)
		flooders[i].postJSON(srv.URL+"/api/login", fmt.Sprintf(`{"username":"bot%d"}`, i), http.StatusOK)
		if i%(maxSessions/2) == 0 {
			ada.session(srv.URL) // ada keeps using the site
		}
	}
	if got, want := counterValue(t, reg, "stickylab_sessionstore_evictions_total", "rank", "2"), float64(logins+1-maxSessions); got != want {
		t.Errorf("evictions: got %v, want %v (the cap of %d holds the rest)", got, want, maxSessions)
	}
	checkStillLoggedIn(t, ada, srv, "ada")
	// The newest logins are kept, the oldest (idle the longest) are gone.
	for _, tc := range []struct {
		i    int
		want bool
	}{{0, false}, {logins / 2, false}, {logins - maxSessions/2, true}, {logins - 1, true}} {
		if got := flooders[tc.i].session(srv.URL).LoggedIn; got != tc.want {
			t.Errorf("bot%d: got logged in %v, want %v", tc.i, got, tc.want)
		}
	}
}
