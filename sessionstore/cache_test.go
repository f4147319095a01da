package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/sessions"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"stickylab/internal/redistest"
)

// testMaxStale is the staleness bound of the cache tests: short, so that
// the tests that wait it out stay quick.
const testMaxStale = 200 * time.Millisecond

// newCachedStore is a Redis store with the cache on, through a client of
// its own to rawURL, with its metrics on their own registry.
func newCachedStore(t *testing.T, rawURL string, cfg Config) (*Store, *prometheus.Registry) {
	t.Helper()
	client, err := NewRedisClient(rawURL)
	if err != nil {
		t.Fatalf("NewRedisClient: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	if cfg.Cache == nil {
		cfg.Cache = &CacheConfig{MaxStale: testMaxStale}
	}
	reg := prometheus.NewRegistry()
	cfg.Metrics = NewMetrics(reg)
	s, err := NewRedis(client, [][]byte{key1}, cfg)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, reg
}

// cachedPair is two instances' cached stores on the Redis of rawURL, both
// serving.
func cachedPair(t *testing.T, rawURL string) (a, b *Store, regA, regB *prometheus.Registry) {
	t.Helper()
	a, regA = newCachedStore(t, rawURL, Config{})
	b, regB = newCachedStore(t, rawURL, Config{})
	waitServing(t, a)
	waitServing(t, b)
	return a, b, regA, regB
}

// trackOf is the cache connection of s.
func trackOf(s *Store) *trackConn { return s.be.(*redisBackend).tc }

// waitServing waits until the cache of s may serve.
func waitServing(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !trackOf(s).serving() {
		if time.Now().After(deadline) {
			t.Fatalf("the cache does not serve after 10s")
		}
		time.Sleep(5 * time.Millisecond) // the connection is another goroutine's: nothing to wait on
	}
}

// commandCalls is how many times the server ran each of names (lower
// case), from INFO commandstats.
func commandCalls(t *testing.T, c redis.UniversalClient, names ...string) int64 {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatalf("INFO commandstats: %v", err)
	}
	var n int64
	for line := range strings.Lines(info) {
		for _, name := range names {
			if rest, ok := strings.CutPrefix(line, "cmdstat_"+name+":calls="); ok {
				calls, _, _ := strings.Cut(rest, ",")
				v, err := strconv.ParseInt(calls, 10, 64)
				if err != nil {
					t.Fatalf("INFO commandstats: %q: %v", line, err)
				}
				n += v
			}
		}
	}
	return n
}

// TestCacheRoundTrips counts, on a real redis-server, the commands each
// operation of a cached store costs: a load of a session this instance
// holds none, a change one (the compare-and-set, no read before it).
func TestCacheRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	s, reg := newCachedStore(t, srv.URL(), Config{})
	waitServing(t, s)
	direct := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { direct.Close() })
	data := []string{"get", "evalsha", "eval", "del", "pexpire", "set"}

	c, _ := stored(t, s, map[string]any{"user": "alice", "n": 0})
	before := commandCalls(t, direct, data...)
	trips := gathered(t, reg)[`round_trips_total{store="redis"}`]
	var sess *sessions.Session
	for range 20 {
		sess = load(t, s, c)
		if sess.Values["user"] != "alice" {
			t.Fatalf("got %v, want alice's session", sess.Values)
		}
	}
	if got := commandCalls(t, direct, data...) - before; got != 0 {
		t.Errorf("20 loads of a session this instance wrote: got %d commands, want 0", got)
	}
	mustSave(t, s, sess)
	if got := commandCalls(t, direct, data...) - before; got != 0 {
		t.Errorf("saving it unchanged: got %d commands, want 0", got)
	}
	// commandstats counts the commands a script runs too: a change is one
	// script (EVALSHA) that runs GET (the version), SET, EXISTS (to stay
	// tracked), and nothing before it.
	gets, exists, scripts := commandCalls(t, direct, "get"), commandCalls(t, direct, "exists"), commandCalls(t, direct, "evalsha", "eval")
	sess.Values["n"] = 1
	mustSave(t, s, sess)
	g, e, sc := commandCalls(t, direct, "get")-gets, commandCalls(t, direct, "exists")-exists, commandCalls(t, direct, "evalsha", "eval")-scripts
	if g != 1 || e != 1 || sc != 1 {
		t.Errorf("a change: got %d scripts running %d GET and %d EXISTS, want 1 script running 1 GET and 1 EXISTS", sc, g, e)
	}
	if got := load(t, s, c).Values["n"]; got != float64(1) {
		t.Errorf("after the change: got n=%v from the cache, want 1 (read your own writes)", got)
	}
	if got := gathered(t, reg)[`round_trips_total{store="redis"}`] - trips; got != 1 {
		t.Errorf("21 loads, an unchanged save and a change: got %v round trips counted, want 1", got)
	}
	if got := gathered(t, reg)[`cache_lookups_total{result="hit",store="redis"}`]; got != 21 {
		t.Errorf("got %v cache hits, want 21", got)
	}
}

// addItem adds item to the cart of the session of c on s, reloading and
// trying again after a conflict, as the app does.
func addItem(t *testing.T, s *Store, c *http.Cookie, item string) {
	t.Helper()
	for range 100 {
		sess := load(t, s, c)
		cart, _ := sess.Values["cart"].([]any)
		sess.Values["cart"] = append(cart, item)
		_, err := save(s, sess)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("add %s: %v", item, err)
		}
	}
	t.Fatalf("add %s: 100 conflicts in a row", item)
}

func cartOf(sess *sessions.Session) []any {
	cart, _ := sess.Values["cart"].([]any)
	return cart
}

// TestCacheTwoInstances is the guarantee of CacheConfig with two instances
// caching one session in a real redis-server: over 200 alternations, an
// item added on one instance is seen by the other's loads within MaxStale,
// every time, and no load that starts later than that returns the cart
// without it; then 200 additions made at once on both instances are all
// there (the compare-and-set decides, not the cache).
func TestCacheTwoInstances(t *testing.T) {
	srv := redistest.Start(t)
	a, b, regA, regB := cachedPair(t, srv.URL())
	c, _ := stored(t, a, map[string]any{"user": "alice", "cart": []string{}})
	load(t, b, c) // b caches it too

	stores := [2]*Store{a, b}
	var worst time.Duration
	for i := range 200 {
		w, r := stores[i%2], stores[1-i%2]
		item := "item-" + strconv.Itoa(i)
		addItem(t, w, c, item)
		acked := time.Now()
		for {
			start := time.Now()
			if slices.Contains(cartOf(load(t, r, c)), any(item)) {
				worst = max(worst, start.Sub(acked))
				break
			}
			if late := start.Sub(acked); late > testMaxStale {
				t.Fatalf("alternation %d: a load %v after the write (bound %v) missed %s", i, late, testMaxStale, item)
			}
		}
	}
	t.Logf("200 alternations: the other instance saw each addition at most %v after it was acknowledged", worst)

	var wg sync.WaitGroup
	for k, s := range stores {
		wg.Go(func() {
			for i := range 100 {
				addItem(t, s, c, fmt.Sprintf("concurrent-%d-%d", k, i))
			}
		})
	}
	wg.Wait()
	time.Sleep(testMaxStale) // the bound itself is what is waited for
	for _, s := range stores {
		if got := len(cartOf(load(t, s, c))); got != 400 {
			t.Errorf("got %d items, want 400: additions were lost", got)
		}
	}
	ga, gb := gathered(t, regA), gathered(t, regB)
	t.Logf("hits a=%v b=%v, misses a=%v b=%v, invalidations a=%v b=%v",
		ga[`cache_lookups_total{result="hit",store="redis"}`], gb[`cache_lookups_total{result="hit",store="redis"}`],
		ga[`cache_lookups_total{result="miss",store="redis"}`], gb[`cache_lookups_total{result="miss",store="redis"}`],
		ga[`cache_invalidations_total{store="redis"}`], gb[`cache_invalidations_total{store="redis"}`])
	if ga[`cache_invalidations_total{store="redis"}`] == 0 || gb[`cache_invalidations_total{store="redis"}`] == 0 {
		t.Errorf("no invalidation counted on one instance, want some on both")
	}
}

// TestCacheOff: where the cache cannot serve, the store works as without
// one. miniredis has no CLIENT TRACKING, so its connection gives up for
// good and every load counts as off; Sentinel's and Cluster's clients get
// no cache connection at all.
func TestCacheOff(t *testing.T) {
	mr := miniredis.RunT(t)
	s, reg := newCachedStore(t, "redis://"+mr.Addr(), Config{})
	select {
	case <-trackOf(s).done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the cache connection to miniredis did not give up")
	}
	c, _ := stored(t, s, map[string]any{"user": "alice"})
	if sess := load(t, s, c); sess.Values["user"] != "alice" {
		t.Fatalf("got %v, want alice's session", sess.Values)
	}
	if got := gathered(t, reg)[`cache_lookups_total{result="off",store="redis"}`]; got != 1 {
		t.Errorf("got %v loads counted off, want 1", got)
	}

	for name, client := range map[string]redis.UniversalClient{
		"sentinel": redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{mr.Addr()}}),
		"cluster":  redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{mr.Addr()}}),
	} {
		t.Cleanup(func() { client.Close() })
		s, err := NewRedis(client, [][]byte{key1}, Config{Cache: &CacheConfig{}})
		if err != nil {
			t.Fatalf("%s: NewRedis: %v", name, err)
		}
		if tc := trackOf(s); tc != nil {
			t.Errorf("%s: got a cache connection, want none", name)
		}
		s.Close()
	}
}

// TestCacheWithPassword: the cache's connection authenticates as the
// client does (HELLO 3 AUTH), and serves.
func TestCacheWithPassword(t *testing.T) {
	srv := redistest.Start(t, "requirepass s3cret")
	s, reg := newCachedStore(t, "redis://:s3cret@"+srv.Addr+"/0", Config{})
	waitServing(t, s)
	c, _ := stored(t, s, map[string]any{"user": "alice"})
	if got := load(t, s, c).Values["user"]; got != "alice" {
		t.Fatalf("got user %v, want alice", got)
	}
	if got := gathered(t, reg)[`cache_lookups_total{result="hit",store="redis"}`]; got != 1 {
		t.Errorf("got %v hits, want 1", got)
	}
}
