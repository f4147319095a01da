package sessionstore

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stickylab/internal/redistest"
)

// The cache when its connection fails: killed, silent, or its Redis
// restarted.

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
