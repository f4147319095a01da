package sessionstore

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMemoryCapEvictsLowestRankLeastRecentlyUsed fills a store of three with
// two sessions of rank 1 and one of rank 0, then adds more: the rank-0
// session goes first however recently it was used, then the rank-1 session
// used least recently, and each eviction is counted by rank.
func TestMemoryCapEvictsLowestRankLeastRecentlyUsed(t *testing.T) {
	reg := prometheus.NewRegistry()
	rank := func(v map[any]any) int {
		if v["user"] != nil {
			return 1
		}
		return 0
	}
	e := newMemoryEnv(t, Config{MaxSessions: 3, Rank: rank, Metrics: NewMetrics(reg)})
	var cookies []*http.Cookie
	ids := map[string]string{}
	for _, name := range []string{"u1", "u2", "anon"} {
		values := map[string]any{"user": name}
		if name == "anon" {
			values = map[string]any{"cart": name}
		}
		c, id := stored(t, e.store, values)
		cookies = append(cookies, c)
		ids[name] = id
		e.advance(time.Second)
	}
	// Use u1, the oldest: it is now used more recently than u2.
	load(t, e.store, cookies[0])
	e.advance(time.Second)

	_, ids["u3"] = stored(t, e.store, map[string]any{"user": "u3"}) // evicts anon (rank 0)
	e.advance(time.Second)
	_, ids["u4"] = stored(t, e.store, map[string]any{"user": "u4"}) // evicts u2, the least recently used of rank 1
	for _, tc := range []struct {
		name   string
		stored bool
	}{
		{"u1", true},
		{"u2", false},
		{"anon", false},
		{"u3", true},
		{"u4", true},
	} {
		if _, _, ok := e.peek(t, ids[tc.name]); ok != tc.stored {
			t.Errorf("%s: got stored %v, want %v", tc.name, ok, tc.stored)
		}
	}
	if got := e.store.be.(*memory).len(); got != 3 {
		t.Errorf("got %d sessions, want the cap of 3", got)
	}
	got := gathered(t, reg)
	for series, want := range map[string]float64{
		`evictions_total{rank="0",store="memory"}`: 1,
		`evictions_total{rank="1",store="memory"}`: 1,
	} {
		if got[series] != want {
			t.Errorf("%s: got %v, want %v", series, got[series], want)
		}
	}
}

// TestMemoryRankFollowsValues checks that a session's rank is taken again at
// every write: a session that gains a user is kept over one that never did.
func TestMemoryRankFollowsValues(t *testing.T) {
	rank := func(v map[any]any) int {
		if v["user"] != nil {
			return 9 // clamped to the highest rank
		}
		return -1 // clamped to 0
	}
	e := newMemoryEnv(t, Config{MaxSessions: 2, Rank: rank})
	c1, id1 := stored(t, e.store, map[string]any{"cart": "tea"})
	e.advance(time.Second)
	_, id2 := stored(t, e.store, map[string]any{"cart": "jam"})
	e.advance(time.Second)
	s1 := load(t, e.store, c1)
	s1.Values["user"] = "ada"
	mustSave(t, e.store, s1)
	e.advance(time.Second)
	_, id3 := stored(t, e.store, map[string]any{"cart": "milk"})
	for _, tc := range []struct {
		name   string
		id     string
		stored bool
	}{
		{"logged in since", id1, true},
		{"never logged in", id2, false},
		{"newest", id3, true},
	} {
		if _, _, ok := e.peek(t, tc.id); ok != tc.stored {
			t.Errorf("%s: got stored %v, want %v", tc.name, ok, tc.stored)
		}
	}
}

func TestMemorySweepRemovesOnlyExpired(t *testing.T) {
	e := newMemoryEnv(t, Config{IdleTimeout: time.Minute, Lifetime: time.Hour})
	_, idle := stored(t, e.store, map[string]any{"name": "idle"})
	e.advance(50 * time.Second)
	live, liveID := stored(t, e.store, map[string]any{"name": "live"})
	e.advance(20 * time.Second)
	load(t, e.store, live)
	m := e.store.be.(*memory)
	if got := m.sweep(e.clock.now()); got != 1 {
		t.Errorf("sweep removed %d sessions, want 1", got)
	}
	for _, tc := range []struct {
		name   string
		id     string
		stored bool
	}{{"idle", idle, false}, {"live", liveID, true}} {
		m.mu.Lock()
		_, ok := m.entries[tc.id]
		m.mu.Unlock()
		if ok != tc.stored {
			t.Errorf("%s: got stored %v, want %v", tc.name, ok, tc.stored)
		}
	}
}

// sweeperRunning reports whether a sweeper goroutine exists.
func sweeperRunning() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "(*memory).sweepEvery")
}

func TestMemorySweeperRunsAndStopsOnClose(t *testing.T) {
	e := newMemoryEnv(t, Config{IdleTimeout: time.Minute, SweepInterval: time.Millisecond})
	stored(t, e.store, map[string]any{"user": "alice"})
	m := e.store.be.(*memory)
	e.advance(2 * time.Minute)
	// Entries are only removed by the sweeper: nothing loads them here.
	for deadline := time.Now().Add(10 * time.Second); m.len() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("got %d sessions 10s after they expired, want the sweeper to remove them", m.len())
		}
		time.Sleep(time.Millisecond)
	}
	if !sweeperRunning() {
		t.Fatalf("no sweeper goroutine before Close")
	}
	if err := e.store.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if sweeperRunning() {
		t.Errorf("the sweeper goroutine outlived Close")
	}
	if err := e.store.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
