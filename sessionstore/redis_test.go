package sessionstore

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"stickylab/internal/redistest"
)

// TestRedisKeysAndData checks what redis-cli shows: keys that are not the
// cookie's ID, and JSON records.
func TestRedisKeysAndData(t *testing.T) {
	for _, k := range backendKinds() {
		if k.name == "memory" {
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			e := k.make(t, Config{KeyPrefix: "test:sess:"})
			c, id := stored(t, e.store, map[string]any{"user": "alice", "cart": []string{"tea"}})
			keys, err := e.client.Keys(context.Background(), "*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 || !regexp.MustCompile(`^test:sess:[0-9a-f]{64}$`).MatchString(keys[0]) {
				t.Fatalf("got keys %q, want one test:sess:<64 hex digits>", keys)
			}
			for _, secret := range []string{id, c.Value} {
				if strings.Contains(keys[0], secret) {
					t.Errorf("key %q contains the cookie's ID or value", keys[0])
				}
			}
			raw, err := e.client.Get(context.Background(), keys[0]).Result()
			if err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Version  int            `json:"version"`
				Created  int64          `json:"created"`
				Deadline int64          `json:"deadline"`
				Values   map[string]any `json:"values"`
			}
			if err := json.Unmarshal([]byte(raw), &rec); err != nil {
				t.Fatalf("stored value %q is not JSON: %v", raw, err)
			}
			want := map[string]any{"user": "alice", "cart": []any{"tea"}}
			if rec.Version != 1 || rec.Deadline-rec.Created != int64(24*time.Hour/time.Millisecond) || !reflect.DeepEqual(rec.Values, want) {
				t.Errorf("got record %s, want version 1, deadline created+24h, values %v", raw, want)
			}
			if strings.Contains(raw, id) {
				t.Errorf("record %s contains the ID", raw)
			}
		})
	}
}

// TestRedisRecordPatterns checks that the scripts, which read the version and
// deadline from the start of a record, are not fooled by values that look
// like a record, and leave records that are not theirs alone.
func TestRedisRecordPatterns(t *testing.T) {
	e := newMiniredisEnv(t, Config{})
	tricky := `{"version":99,"created":0,"deadline":0,"values":{}}`
	c, id := stored(t, e.store, map[string]any{"x": tricky})
	sess := load(t, e.store, c)
	if sess.IsNew || sess.Values["x"] != tricky {
		t.Fatalf("got IsNew %v values %v, want the tricky value back", sess.IsNew, sess.Values)
	}
	sess.Values["y"] = 1
	mustSave(t, e.store, sess)
	rec, _, _ := e.peek(t, id)
	if r, err := decodeRecord(rec); err != nil || r.Version != 2 {
		t.Errorf("got version %d (%v) after a change, want 2", r.Version, err)
	}

	// A key that is not a record: treated as unknown, never overwritten.
	key := e.store.be.(*redisBackend).key(id)
	if err := e.client.Set(context.Background(), key, "not json", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if sess := load(t, e.store, c); !sess.IsNew {
		t.Fatalf("got a session from a foreign value, want a new one")
	}
	if ok, err := e.store.be.write(context.Background(), id, 0, false, []byte(`{}`), 0, e.clock.now().Add(time.Hour), e.clock.now()); ok || err != nil {
		t.Errorf("write over a foreign value: got %v, %v; want false, nil", ok, err)
	}
	if got, _ := e.client.Get(context.Background(), key).Result(); got != "not json" {
		t.Errorf("got %q under the key, want the foreign value left alone", got)
	}
}

// countHook counts the round trips a client makes.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestRedisRoundTrips checks what each operation costs once the scripts are
// cached by the server (the first run of each script costs one more).
func TestRedisRoundTrips(t *testing.T) {
	mr := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { client.Close() })
	hook := &countHook{}
	client.AddHook(hook)
	s, err := NewRedis(client, [][]byte{key1}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Warm the script cache: create, change, renew, delete once.
	c, _ := stored(t, s, map[string]any{"n": 0})
	sess := load(t, s, c)
	sess.Values["n"] = 1
	s.Renew(sess)
	c = mustSave(t, s, sess)

	for _, tc := range []struct {
		name string
		op   func(t *testing.T)
		want int64
	}{
		{"load", func(t *testing.T) { sess = load(t, s, c) }, 1},
		{"load without cookie", func(t *testing.T) { load(t, s, nil) }, 0},
		{"save unchanged", func(t *testing.T) { mustSave(t, s, sess) }, 0},
		{"save changed", func(t *testing.T) { sess.Values["n"] = 2; c = mustSave(t, s, sess) }, 1},
		{"save new", func(t *testing.T) { stored(t, s, map[string]any{"n": 0}) }, 1},
		{"save renewed", func(t *testing.T) { s.Renew(sess); c = mustSave(t, s, sess) }, 2},
		{"delete", func(t *testing.T) { sess.Options.MaxAge = -1; save(s, sess) }, 1},
	} {
		before := hook.n.Load()
		tc.op(t)
		if got := hook.n.Load() - before; got != tc.want {
			t.Errorf("%s: got %d round trips, want %d", tc.name, got, tc.want)
		}
	}
}

// TestRedisOutage freezes a real redis-server (SIGSTOP): loads fail with
// ErrUnavailable within the request's deadline, the session that comes with
// the error cannot be saved (not even once Redis is back), and once the
// server continues the same cookie loads the intact session.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	e := newRealRedisEnv(t, srv, Config{Timeout: time.Minute})
	c, id := stored(t, e.store, map[string]any{"user": "alice", "cart": []string{"tea"}})
	before, _, _ := e.peek(t, id)

	srv.Stop()
	t.Cleanup(srv.Continue) // a failed test must not leave it frozen for Kill
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r := request(c).WithContext(ctx)
	sess, err := e.store.Get(r, cookieName)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get from a frozen Redis: got %v, want ErrUnavailable", err)
	}
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("got %v, want the request deadline as the cause", err)
	}
	t.Logf("Get during the outage: %v", err)
	if sess == nil {
		t.Fatalf("Get returned no session with its error; gorilla's registry needs one")
	}
	pctx, pcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer pcancel()
	if err := e.store.Ping(pctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping of a frozen Redis: got %v, want ErrUnavailable", err)
	}

	srv.Continue()
	// The empty session that came with the error must not replace the
	// user's cookie, even once Redis is back.
	sess.Values["cart"] = []string{}
	if c2, err := save(e.store, sess); !errors.Is(err, ErrUnavailable) || c2 != nil {
		t.Errorf("Save of the session from a failed load: got cookie %v, %v; want none and ErrUnavailable", c2, err)
	}
	sess = load(t, e.store, c)
	want := map[any]any{"user": "alice", "cart": []any{"tea"}}
	if sess.IsNew || !reflect.DeepEqual(sess.Values, want) {
		t.Errorf("after the outage: got IsNew %v values %v, want %v", sess.IsNew, sess.Values, want)
	}
	if after, _, _ := e.peek(t, id); string(after) != string(before) {
		t.Errorf("record changed during the outage:\n got %s\nwant %s", after, before)
	}
	if err := e.store.Ping(context.Background()); err != nil {
		t.Errorf("Ping after the outage: %v", err)
	}
}
