package sessionstore

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"stickylab/internal/redistest"
)

// cookieName is the session cookie of the tests.
const cookieName = "sid"

var (
	key1 = []byte("key-one-0123456789abcdef01234567")
	key2 = []byte("key-two-0123456789abcdef01234567")
)

// fakeClock is the store's clock in tests; advance moves it.
type fakeClock struct {
	mu sync.Mutex // protects t
	t  time.Time
}

func newFakeClock(start time.Time) *fakeClock { return &fakeClock{t: start} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one store on one backend, with the means to move its time and look
// at what the backend holds.
type env struct {
	// store is the server-side store; nil for the cookie store.
	store *Store
	// st is the store under test, whichever it is.
	st    testStore
	clock *fakeClock
	// advance moves the store's clock and the backend's TTL clock by d.
	advance func(d time.Duration)
	// peek returns the stored record of id and its remaining TTL.
	peek func(t *testing.T, id string) (rec []byte, ttl time.Duration, ok bool)
	// client is the Redis client; nil for memory.
	client redis.UniversalClient
}

// backendKind makes envs of one kind of backend.
type backendKind struct {
	name string
	// unit is the idle timeout the time-based cases use: long where time
	// is simulated, short for a real redis-server whose TTLs run on the
	// wall clock.
	unit time.Duration
	// make returns a fresh env with cfg (IdleTimeout and Lifetime set).
	make func(t *testing.T, cfg Config) *env
}

// backendKinds are the backends every behaviour runs against: memory,
// miniredis, and a real redis-server per test (skipped, or failed when
// STICKYLAB_REQUIRE names redis, when it is not installed).
func backendKinds() []backendKind {
	return []backendKind{
		{name: "memory", unit: 30 * time.Minute, make: newMemoryEnv},
		{name: "miniredis", unit: 30 * time.Minute, make: newMiniredisEnv},
		{name: "redis", unit: time.Second, make: func(t *testing.T, cfg Config) *env {
			return newRealRedisEnv(t, redistest.Start(t), cfg)
		}},
	}
}

func newMemoryEnv(t *testing.T, cfg Config) *env {
	clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	cfg.now = clk.now
	s, err := NewMemory([][]byte{key1}, cfg)
	if err != nil {
		t.Fatalf("NewMemory: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	m := s.be.(*memory)
	return &env{
		store:   s,
		st:      s,
		clock:   clk,
		advance: clk.advance,
		peek: func(t *testing.T, id string) ([]byte, time.Duration, bool) {
			m.mu.Lock()
			defer m.mu.Unlock()
			e := m.entries[id]
			if e == nil || !clk.now().Before(e.expires) {
				return nil, 0, false
			}
			return e.data, e.expires.Sub(clk.now()), true
		},
	}
}

func newMiniredisEnv(t *testing.T, cfg Config) *env {
	mr := miniredis.RunT(t)
	clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	cfg.now = clk.now
	client := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { client.Close() })
	e := newRedisEnv(t, client, cfg, clk)
	e.advance = func(d time.Duration) {
		clk.advance(d)
		mr.FastForward(d)
	}
	return e
}

func newRealRedisEnv(t *testing.T, srv *redistest.Server, cfg Config) *env {
	return newURLRedisEnv(t, srv.URL(), cfg)
}

// newURLRedisEnv is an env on the real Redis that rawURL names, in any form
// NewRedisClient takes, through a client of its own.
func newURLRedisEnv(t *testing.T, rawURL string, cfg Config) *env {
	clk := newFakeClock(time.Now())
	cfg.now = clk.now
	client, err := NewRedisClient(rawURL)
	if err != nil {
		t.Fatalf("NewRedisClient: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	e := newRedisEnv(t, client, cfg, clk)
	e.advance = func(d time.Duration) {
		// A real server's TTLs run on its own clock: the only way to move
		// it is to let the time pass.
		time.Sleep(d)
		clk.advance(d)
	}
	return e
}

func newRedisEnv(t *testing.T, client redis.UniversalClient, cfg Config, clk *fakeClock) *env {
	s, err := NewRedis(client, [][]byte{key1}, cfg)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	key := func(id string) string { return s.cfg.KeyPrefix + hashID(id) } // also under a migrating backend
	return &env{
		store:  s,
		st:     s,
		clock:  clk,
		client: client,
		peek: func(t *testing.T, id string) ([]byte, time.Duration, bool) {
			t.Helper()
			ctx := context.Background()
			v, err := client.Get(ctx, key(id)).Bytes()
			if errors.Is(err, redis.Nil) {
				return nil, 0, false
			}
			if err != nil {
				t.Fatalf("peek: GET: %v", err)
			}
			ttl, err := client.PTTL(ctx, key(id)).Result()
			if err != nil {
				t.Fatalf("peek: PTTL: %v", err)
			}
			return v, ttl, true
		},
	}
}

// testStore is what the behaviour table needs of a store: *Store and
// *CookieStore both have it.
type testStore interface {
	sessions.Store
	Renew(*sessions.Session)
}

// sibling is a store on the same backend as s with other cookie keys, as
// after a key rotation.
func sibling(t *testing.T, s *Store, keys [][]byte) *Store {
	t.Helper()
	c, err := newCookieCodec(keys, s.cfg.Lifetime)
	if err != nil {
		t.Fatalf("newCookieCodec: %v", err)
	}
	return &Store{be: s.be, mode: s.mode, cookies: c, cfg: s.cfg, options: s.options, states: newTracker()}
}

// request is a request carrying cookie c (none when nil).
func request(c *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if c != nil {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

// load is New for a request carrying c; it fails the test on error.
func load(t *testing.T, s testStore, c *http.Cookie) *sessions.Session {
	t.Helper()
	sess, err := s.New(request(c), cookieName)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return sess
}

// save saves sess and returns the session cookie set, nil when none.
func save(s testStore, sess *sessions.Session) (*http.Cookie, error) {
	w := httptest.NewRecorder()
	err := s.Save(request(nil), w, sess)
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieName {
			return c, err
		}
	}
	return nil, err
}

// mustSave is save that fails the test on error or when no cookie is set.
func mustSave(t *testing.T, s testStore, sess *sessions.Session) *http.Cookie {
	t.Helper()
	c, err := save(s, sess)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	if c == nil {
		t.Fatalf("Save set no %s cookie", cookieName)
	}
	return c
}

// cookieID returns the ID a cookie carries, verified with s's keys.
func cookieID(t *testing.T, s testStore, c *http.Cookie) string {
	t.Helper()
	var (
		id string
		ok bool
	)
	switch s := s.(type) {
	case *Store:
		id, ok = s.cookies.decode(cookieName, c.Value)
	case *CookieStore:
		var rec cookieRecord
		rec, ok = decryptCookie(s, c)
		id = rec.ID
	default:
		t.Fatalf("cookieID: unknown store %T", s)
	}
	if !ok {
		t.Fatalf("cookie %q does not verify", c.Value)
	}
	return id
}

// stored creates a session holding values and returns its cookie and ID.
func stored(t *testing.T, s testStore, values map[string]any) (*http.Cookie, string) {
	t.Helper()
	sess := load(t, s, nil)
	for k, v := range values {
		sess.Values[k] = v
	}
	c := mustSave(t, s, sess)
	return c, cookieID(t, s, c)
}
