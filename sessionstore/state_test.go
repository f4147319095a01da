package sessionstore

import (
	"runtime"
	"testing"
	"time"
)

// TestTrackerForgetsCollectedSessions checks that the state of sessions a
// handler dropped without saving goes away with them.
func TestTrackerForgetsCollectedSessions(t *testing.T) {
	e := newMemoryEnv(t, Config{})
	c, _ := stored(t, e.store, map[string]any{"user": "alice"})
	for range 100 {
		load(t, e.store, c)
	}
	for deadline := time.Now().Add(10 * time.Second); e.store.states.len() > 10; {
		if time.Now().After(deadline) {
			t.Fatalf("got %d tracked sessions after GC, want the dropped ones forgotten", e.store.states.len())
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}
