package sessionstore

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"stickylab/internal/redistest"
)

// migrationKinds are the Redis servers a migration runs against: miniredis
// and a real redis-server.
func migrationKinds() []struct {
	name   string
	client func(t *testing.T) redis.UniversalClient
} {
	return []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
	}{
		{"miniredis", func(t *testing.T) redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr(), ContextTimeoutEnabled: true})
		}},
		{"redis", func(t *testing.T) redis.UniversalClient {
			c, err := NewRedisClient(redistest.Start(t).URL())
			if err != nil {
				t.Fatal(err)
			}
			return c
		}},
	}
}

// newMigration returns a memory store and a Redis store on client that
// migrates from it, sharing keys, clock and metrics.
func newMigration(t *testing.T, client redis.UniversalClient, reg *prometheus.Registry) (mem *Store, e *env) {
	t.Helper()
	t.Cleanup(func() { client.Close() })
	clk := newFakeClock(time.Now())
	metrics := NewMetrics(reg)
	mem, err := NewMemory([][]byte{key1}, Config{now: clk.now, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	return mem, newRedisEnv(t, client, Config{now: clk.now, MigrateFrom: mem, Metrics: metrics}, clk)
}

// TestMigrateFromMemory moves sessions from a memory store to Redis as they
// are loaded: same ID, same values, nobody logged out, the memory copy gone,
// and later writes and renewals work on the moved session.
func TestMigrateFromMemory(t *testing.T) {
	for _, k := range migrationKinds() {
		t.Run(k.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			mem, e := newMigration(t, k.client(t), reg)
			alice, aliceID := stored(t, mem, map[string]any{"user": "alice", "cart": []string{"tea"}})
			bob, bobID := stored(t, mem, map[string]any{"cart": []string{"jam"}})

			sess := load(t, e.store, alice)
			want := map[any]any{"user": "alice", "cart": []any{"tea"}}
			if sess.IsNew || sess.ID != aliceID || !reflect.DeepEqual(sess.Values, want) {
				t.Fatalf("first load through Redis: got IsNew %v ID %q values %v, want alice's session %q %v", sess.IsNew, sess.ID, sess.Values, aliceID, want)
			}
			if _, _, ok := e.peek(t, aliceID); !ok {
				t.Errorf("alice's session is not in Redis after its load")
			}
			if got := mem.be.(*memory).len(); got != 1 {
				t.Errorf("got %d sessions left in memory, want 1 (bob's, not loaded yet)", got)
			}
			sess.Values["visits"] = 1
			if got := cookieID(t, e.store, mustSave(t, e.store, sess)); got != aliceID {
				t.Errorf("got ID %q after a change, want %q", got, aliceID)
			}
			if got := load(t, e.store, alice).Values["visits"]; got != float64(1) {
				t.Errorf("got visits %v after the change, want 1", got)
			}

			b := load(t, e.store, bob)
			e.store.Renew(b)
			b.Values["user"] = "bob"
			renewed := mustSave(t, e.store, b)
			if got := load(t, e.store, bob); !got.IsNew {
				t.Errorf("bob's cookie before login still loads a session after the renewal")
			}
			if got := load(t, e.store, renewed).Values["user"]; got != "bob" {
				t.Errorf("got user %v under bob's new ID, want bob", got)
			}
			if _, _, ok := e.peek(t, bobID); ok {
				t.Errorf("bob's old ID is still in Redis")
			}
			if got := mem.be.(*memory).len(); got != 0 {
				t.Errorf("got %d sessions left in memory, want none", got)
			}
			if got := gathered(t, reg)[`loads_total{result="migrated",store="redis"}`]; got != 2 {
				t.Errorf("got %v migrated loads, want 2", got)
			}
		})
	}
}

// TestMigrateRedisDown: when Redis fails during a move, the load fails (no
// empty session in its place) and the session stays in memory, to move on a
// later load once Redis is back.
func TestMigrateRedisDown(t *testing.T) {
	mr := miniredis.RunT(t)
	mem, e := newMigration(t, redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1}), prometheus.NewRegistry())
	c, _ := stored(t, mem, map[string]any{"user": "alice"})
	mr.SetError("LOADING the lab says no")
	if _, err := e.store.New(request(c), cookieName); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v with Redis failing, want ErrUnavailable", err)
	}
	if got := mem.be.(*memory).len(); got != 1 {
		t.Fatalf("got %d sessions in memory after the failed move, want 1", got)
	}
	mr.SetError("")
	if got := load(t, e.store, c).Values["user"]; got != "alice" {
		t.Errorf("got user %v once Redis is back, want alice", got)
	}
}

// TestMigrateWithoutSource: a cookie that neither store knows is a fresh
// session, as in strict mode.
func TestMigrateWithoutSource(t *testing.T) {
	_, e := newMigration(t, redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()}), prometheus.NewRegistry())
	forged, err := e.store.cookies.encode(cookieName, newID())
	if err != nil {
		t.Fatal(err)
	}
	if sess := load(t, e.store, &http.Cookie{Name: cookieName, Value: forged}); !sess.IsNew {
		t.Errorf("got a stored session for an ID neither store has, want a new one")
	}
}
