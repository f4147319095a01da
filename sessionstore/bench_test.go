package sessionstore

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"stickylab/internal/redistest"
)

// benchStore is a store of one kind for a benchmark, with a round-trip
// counter for the Redis ones (nil for memory).
type benchStore struct {
	name string
	open func(b *testing.B) (*Store, *countHook)
}

func benchStores() []benchStore {
	onRedis := func(b *testing.B, client *redis.Client) (*Store, *countHook) {
		b.Cleanup(func() { client.Close() })
		hook := &countHook{}
		client.AddHook(hook)
		s, err := NewRedis(client, [][]byte{key1}, Config{})
		if err != nil {
			b.Fatal(err)
		}
		return s, hook
	}
	return []benchStore{
		{"memory", func(b *testing.B) (*Store, *countHook) {
			s, err := NewMemory([][]byte{key1}, Config{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s, nil
		}},
		{"miniredis", func(b *testing.B) (*Store, *countHook) {
			return onRedis(b, redis.NewClient(&redis.Options{Addr: miniredis.RunT(b).Addr()}))
		}},
		{"redis", func(b *testing.B) (*Store, *countHook) {
			return onRedis(b, redis.NewClient(&redis.Options{Addr: redistest.Start(b).Addr}))
		}},
		{"redis+cache", func(b *testing.B) (*Store, *countHook) {
			client := redis.NewClient(&redis.Options{Addr: redistest.Start(b).Addr})
			b.Cleanup(func() { client.Close() })
			s, err := NewRedis(client, [][]byte{key1}, Config{Cache: &CacheConfig{}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			for deadline := time.Now().Add(10 * time.Second); !trackOf(s).serving(); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatal("the cache does not serve")
				}
			}
			return s, nil
		}},
	}
}

// discardWriter is a ResponseWriter that keeps only the last response's
// headers, so that a benchmark loop does not grow them.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// benchSession stores a session with a typical small cart and returns its
// cookie.
func benchSession(b *testing.B, s *Store) *http.Cookie {
	sess, err := s.New(request(nil), cookieName)
	if err != nil {
		b.Fatal(err)
	}
	sess.Values["user"] = "alice"
	sess.Values["visits"] = 12
	sess.Values["cart"] = []string{"tea", "milk", "bread"}
	c, err := save(s, sess)
	if err != nil || c == nil {
		b.Fatalf("save: %v", err)
	}
	return c
}

// startTiming resets the timer and returns the function that reports the
// Redis round trips per operation since then (hook nil: none to report).
// Callers make one call before, so that the scripts are cached.
func startTiming(b *testing.B, hook *countHook) (report func()) {
	b.ReportAllocs()
	var before int64
	if hook != nil {
		before = hook.n.Load()
	}
	b.ResetTimer()
	return func() {
		if hook != nil {
			b.ReportMetric(float64(hook.n.Load()-before)/float64(b.N), "roundtrips/op")
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, k := range benchStores() {
		b.Run(k.name, func(b *testing.B) {
			s, hook := k.open(b)
			c := benchSession(b, s)
			r := request(c)
			if _, err := s.New(r, cookieName); err != nil { // caches the script
				b.Fatal(err)
			}
			report := startTiming(b, hook)
			for range b.N {
				sess, err := s.New(r, cookieName)
				if err != nil || sess.IsNew {
					b.Fatalf("load: %v (new %v)", err, sess.IsNew)
				}
			}
			report()
		})
	}
}

func BenchmarkSave(b *testing.B) {
	for _, k := range benchStores() {
		for _, changed := range []bool{false, true} {
			name := k.name + "/unchanged"
			if changed {
				name = k.name + "/changed"
			}
			b.Run(name, func(b *testing.B) {
				s, hook := k.open(b)
				r := request(benchSession(b, s))
				sess, err := s.New(r, cookieName)
				if err != nil {
					b.Fatal(err)
				}
				w := &discardWriter{h: http.Header{}}
				sess.Values["visits"] = -1
				if err := s.Save(r, w, sess); err != nil { // caches the script
					b.Fatal(err)
				}
				report := startTiming(b, hook)
				for i := range b.N {
					if changed {
						sess.Values["visits"] = i
					}
					clear(w.h)
					if err := s.Save(r, w, sess); err != nil {
						b.Fatal(fmt.Errorf("save %d: %w", i, err))
					}
				}
				report()
			})
		}
	}
}

// BenchmarkVisit is the app's visit-counting request on parallel
// goroutines, one session each: load, change, save.
func BenchmarkVisit(b *testing.B) {
	for _, k := range benchStores() {
		b.Run(k.name, func(b *testing.B) {
			s, _ := k.open(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := request(benchSession(b, s))
				w := &discardWriter{h: http.Header{}}
				i := 0
				for pb.Next() {
					sess, err := s.New(r, cookieName)
					if err != nil || sess.IsNew {
						b.Fatalf("load: %v (new %v)", err, sess.IsNew)
					}
					i++
					sess.Values["visits"] = i
					clear(w.h)
					if err := s.Save(r, w, sess); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
