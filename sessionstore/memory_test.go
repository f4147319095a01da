package sessionstore

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestMemoryCapEvictsOldestFirst(t *testing.T) {
	e := newMemoryEnv(t, Config{MaxSessions: 3})
	var cookies []*http.Cookie
	ids := map[string]string{}
	for _, name := range []string{"s1", "s2", "s3"} {
		c, id := stored(t, e.store, map[string]any{"name": name})
		cookies = append(cookies, c)
		ids[name] = id
		e.advance(time.Second)
	}
	// Touch and change s1, the oldest: eviction goes by creation, not use.
	s1 := load(t, e.store, cookies[0])
	s1.Values["visits"] = 1
	mustSave(t, e.store, s1)

	_, id4 := stored(t, e.store, map[string]any{"name": "s4"})
	_, id5 := stored(t, e.store, map[string]any{"name": "s5"})
	for _, tc := range []struct {
		name   string
		id     string
		stored bool
	}{
		{"s1", ids["s1"], false},
		{"s2", ids["s2"], false},
		{"s3", ids["s3"], true},
		{"s4", id4, true},
		{"s5", id5, true},
	} {
		if _, _, ok := e.peek(t, tc.id); ok != tc.stored {
			t.Errorf("%s: got stored %v, want %v", tc.name, ok, tc.stored)
		}
	}
	if got := e.store.be.(*memory).len(); got != 3 {
		t.Errorf("got %d sessions, want the cap of 3", got)
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
