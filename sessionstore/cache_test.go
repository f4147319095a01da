package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
	// script (EVALSHA) that runs GET (the version), SET, GET (to stay
	// tracked), and nothing before it.
	gets, scripts := commandCalls(t, direct, "get"), commandCalls(t, direct, "evalsha", "eval")
	sess.Values["n"] = 1
	mustSave(t, s, sess)
	if g, sc := commandCalls(t, direct, "get")-gets, commandCalls(t, direct, "evalsha", "eval")-scripts; g != 2 || sc != 1 {
		t.Errorf("a change: got %d scripts running %d GET, want 1 script running 2 GET", sc, g)
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

// seenWithin fails t unless a load of c on s shows n == want, polling from
// acked (when the change was acknowledged) for at most bound; no load that
// starts after bound may show anything else.
func seenWithin(t *testing.T, s *Store, c *http.Cookie, want float64, acked time.Time, bound time.Duration) {
	t.Helper()
	for {
		start := time.Now()
		sess, err := s.New(request(c), cookieName)
		if err == nil && sess.Values["n"] == want {
			return
		}
		if late := start.Sub(acked); late > bound {
			t.Fatalf("a load %v after the change (bound %v): got n=%v (%v), want %v", late, bound, sess.Values["n"], err, want)
		}
	}
}

// setN sets n in the session of c on s.
func setN(t *testing.T, s *Store, c *http.Cookie, n float64) time.Time {
	t.Helper()
	sess := load(t, s, c)
	sess.Values["n"] = n
	mustSave(t, s, sess)
	return time.Now()
}

// TestCacheConnectionKilled kills the cache's connection of one instance
// (CLIENT KILL) while the other changes the session: the first drops its
// cache, serves the change within the bound, reconnects, and from then on
// caches and is told of changes again.
func TestCacheConnectionKilled(t *testing.T) {
	srv := redistest.Start(t)
	a, b, regA, _ := cachedPair(t, srv.URL())
	c, _ := stored(t, a, map[string]any{"n": 0})
	load(t, a, c)

	direct := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { direct.Close() })
	addr := trackOf(a).cur.Load().nc.LocalAddr().String()
	if err := direct.Do(context.Background(), "CLIENT", "KILL", "ADDR", addr).Err(); err != nil {
		t.Fatalf("CLIENT KILL ADDR %s: %v", addr, err)
	}
	seenWithin(t, a, c, 1, setN(t, b, c, 1), testMaxStale)

	waitServing(t, a)
	if got := gathered(t, regA)[`cache_resets_total{store="redis"}`]; got != 1 {
		t.Errorf("got %v cache resets, want 1", got)
	}
	load(t, a, c) // cached again
	seenWithin(t, a, c, 2, setN(t, b, c, 2), testMaxStale)
	hits := gathered(t, regA)[`cache_lookups_total{result="hit",store="redis"}`]
	if got := load(t, a, c).Values["n"]; got != float64(2) {
		t.Errorf("got n=%v, want 2", got)
	}
	if got := gathered(t, regA)[`cache_lookups_total{result="hit",store="redis"}`]; got != hits+1 {
		t.Errorf("after the reconnection: got %v hits, want %v", got, hits+1)
	}
}

// TestCacheRedisRestart restarts the redis-server under two cached
// instances: with the data persisted, a change made after the restart is
// seen by the other instance within the bound; without, the session is
// gone for both, never served from a cache.
func TestCacheRedisRestart(t *testing.T) {
	for _, persisted := range []bool{true, false} {
		t.Run("persisted="+strconv.FormatBool(persisted), func(t *testing.T) {
			var extra []string
			if persisted {
				extra = []string{"appendonly yes", "appendfsync always"}
			}
			srv := redistest.Start(t, extra...)
			a, b, _, _ := cachedPair(t, srv.URL())
			c, _ := stored(t, a, map[string]any{"n": 0})
			load(t, b, c)

			srv.Restart()
			if !persisted {
				restarted := time.Now()
				for _, s := range []*Store{a, b} {
					for {
						start := time.Now()
						sess, err := s.New(request(c), cookieName)
						if err == nil && sess.IsNew {
							break
						}
						if start.Sub(restarted) > testMaxStale {
							t.Fatalf("a load %v after the restart: got %v (%v), want a new session", start.Sub(restarted), sess.Values, err)
						}
					}
				}
				return
			}
			// The first change after the restart may meet Redis still
			// coming up: try until it is written.
			var acked time.Time
			deadline := time.Now().Add(10 * time.Second)
			for {
				sess, err := b.New(request(c), cookieName)
				if err == nil && !sess.IsNew {
					sess.Values["n"] = 1
					if _, err = save(b, sess); err == nil {
						acked = time.Now()
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("no change written 10s after the restart: %v", err)
				}
			}
			seenWithin(t, a, c, 1, acked, testMaxStale)
		})
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

// holdProxy forwards TCP connections to a server; while held, what the
// server sends is kept back, as on a connection that died without a word
// (a cable pulled, a NAT entry gone).
type holdProxy struct {
	ln     net.Listener
	target string

	mu   sync.Mutex    // protects gate
	gate chan struct{} // closed while not held
}

func newHoldProxy(t *testing.T, target string) *holdProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{ln: ln, target: target, gate: make(chan struct{})}
	close(p.gate)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.release()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			stop := context.AfterFunc(t.Context(), func() { client.Close(); server.Close() })
			wg.Go(func() {
				io.Copy(server, client)
				server.Close()
			})
			wg.Go(func() {
				defer stop()
				defer client.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := server.Read(buf)
					if n > 0 {
						<-p.open()
						if _, werr := client.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	return p
}

func (p *holdProxy) open() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gate
}

func (p *holdProxy) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gate = make(chan struct{})
}

func (p *holdProxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
}

// TestCacheSilentConnection holds back everything Redis sends to one
// instance, so that its cache hears of no change and gets no answer to its
// PINGs, while the other instance changes the session: loads may be
// served the old copy only within MaxStale of the change; after that they
// fail (the instance cannot reach Redis) but never return the old copy.
// Once the connection flows again, the change is seen.
func TestCacheSilentConnection(t *testing.T) {
	srv := redistest.Start(t)
	proxy := newHoldProxy(t, srv.Addr)
	a, regA := newCachedStore(t, "redis://"+proxy.ln.Addr().String()+"/0", Config{Timeout: 50 * time.Millisecond})
	b, _ := newCachedStore(t, srv.URL(), Config{})
	waitServing(t, a)
	c, _ := stored(t, b, map[string]any{"n": 0})
	load(t, a, c)

	proxy.hold()
	acked := setN(t, b, c, 1)
	var stale, failed int
	for time.Since(acked) < testMaxStale+300*time.Millisecond {
		start := time.Now()
		sess, err := a.New(request(c), cookieName)
		switch {
		case err != nil:
			failed++
		case sess.Values["n"] == float64(0):
			stale++
			if late := start.Sub(acked); late > testMaxStale {
				t.Fatalf("a load %v after the change (bound %v) got the old copy", late, testMaxStale)
			}
		default:
			t.Fatalf("got n=%v while Redis's answers are held back, want the old copy or an error", sess.Values["n"])
		}
	}
	t.Logf("while held: %d loads served the old copy (within the bound), %d failed", stale, failed)
	if stale == 0 || failed == 0 {
		t.Errorf("got %d old copies and %d failures, want some of each", stale, failed)
	}
	if got := gathered(t, regA)[`cache_lookups_total{result="off",store="redis"}`]; got == 0 {
		t.Errorf("no load counted off, want the cache to stop serving")
	}
	proxy.release()
	seenWithin(t, a, c, 1, time.Now(), 10*time.Second)
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

// TestCacheKilledDuringLoads kills the cache's connection while loads that
// miss (a cache of one entry, two sessions in turn) are in flight on it: no
// load fails, since a read the dead connection did not answer is sent again
// through go-redis's pool.
func TestCacheKilledDuringLoads(t *testing.T) {
	srv := redistest.Start(t)
	s, _ := newCachedStore(t, srv.URL(), Config{Cache: &CacheConfig{MaxEntries: 1, MaxStale: testMaxStale}})
	waitServing(t, s)
	c1, _ := stored(t, s, map[string]any{"n": 1})
	c2, _ := stored(t, s, map[string]any{"n": 2})
	direct := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { direct.Close() })

	stop := make(chan struct{})
	var loads sync.WaitGroup
	for _, c := range []*http.Cookie{c1, c2} {
		loads.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.New(request(c), cookieName); err != nil {
					t.Errorf("a load while the cache's connection was killed: %v", err)
					return
				}
			}
		})
	}
	for range 5 {
		waitServing(t, s)
		addr := trackOf(s).cur.Load().nc.LocalAddr().String()
		if err := direct.Do(context.Background(), "CLIENT", "KILL", "ADDR", addr).Err(); err != nil {
			t.Fatalf("CLIENT KILL ADDR %s: %v", addr, err)
		}
	}
	close(stop)
	loads.Wait()
}
