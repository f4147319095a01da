package lb

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestSlowStartRamp: a target that becomes healthy beside a healthy one,
// in a group with slow_start 30s, gets a linearly rising share of new
// clients: about 9% a tenth of the way (0.1 / 1.1), a third halfway (0.5 /
// 1.5), half once the 30s are over. The clock of the ramp is the test's.
func TestSlowStartRamp(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, _ := backends(t, 2)
		bs[1].healthy.Store(false)
		var clock atomic.Int64
		clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
		r := serveRouter(t, `
listener: {default_action: {forward: {target_group: g}}}
target_groups: [{name: g, slow_start: 30s, targets: [app-1={app-1}, app-2={app-2}]}]
`, bs, Config{Engine: engine}, func(rt *Router) {
			rt.Group("g").pool.now = func() time.Time { return time.Unix(0, clock.Load()) }
		})
		bs[1].healthy.Store(true)
		waitFor(t, "app-2 healthy", func() bool { return r.groupTarget("g", "app-2").State == StateHealthy })
		share := func(at time.Duration) float64 {
			clock.Add(int64(at))
			defer clock.Add(-int64(at))
			n := 0
			const clients = 400
			for range clients {
				if _, body := do(t, newClient(t), "GET", r.url+"/", nil); body == "app-2" {
					n++
				}
			}
			return float64(n) / clients
		}
		early, half, done := share(3*time.Second), share(15*time.Second), share(31*time.Second)
		t.Logf("app-2's share of new clients: %.1f%% at 3s, %.1f%% at 15s, %.1f%% after 30s", 100*early, 100*half, 100*done)
		if !(early < half && half < done) {
			t.Errorf("shares %.2f, %.2f, %.2f: want rising", early, half, done)
		}
		if early > 0.2 || half < 0.2 || half > 0.45 || done < 0.4 {
			t.Errorf("shares %.2f, %.2f, %.2f: want about 0.09, 0.33 and 0.5 (a linear ramp)", early, half, done)
		}
	})
}

// TestSlowStartNeedsAnotherHealthyTarget: the first target to become
// healthy, with no other healthy target, does not enter slow start (ALB's
// rule), so it takes every request at once.
func TestSlowStartNeedsAnotherHealthyTarget(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, _ := backends(t, 1)
		r := serveRouter(t, `
listener: {default_action: {forward: {target_group: g}}}
target_groups: [{name: g, slow_start: 30s, targets: [app-1={app-1}]}]
`, bs, Config{Engine: engine})
		if since := r.Group("g").pool.all[0].slowSince.Load(); since != 0 {
			t.Errorf("the only target entered slow start")
		}
	})
}

// TestSlowStartRefusedWithLeastOutstanding: ALB does not combine them.
func TestSlowStartRefusedWithLeastOutstanding(t *testing.T) {
	_, ts := backends(t, 1)
	_, err := New(Config{Targets: ts, SlowStart: 30 * time.Second, Algorithm: LeastOutstandingRequests})
	if err == nil {
		t.Fatal("New accepted slow start with least_outstanding_requests")
	}
}
