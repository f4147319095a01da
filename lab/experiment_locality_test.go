package lab

import (
	"context"
	"strings"
	"testing"
	"time"

	"stickylab/lb"
)

// TestLocality runs the locality scenario with real instances, a real
// balancer and a real redis-server: with a shared store nobody is logged
// out; the cache answers loads with stickiness and hardly without it, so
// that round trips per request fall with stickiness on, and only with the
// cache; memory without stickiness logs users out.
func TestLocality(t *testing.T) {
	requireRedisServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cfg := ExperimentConfig{Binary: stickylab, Users: 8, Requests: 2, Instances: 3, PassiveFailover: true}.withDefaults()
	out, err := runLocality(ctx, cfg)
	if err != nil {
		t.Fatalf("runLocality: %v", err)
	}
	table := out.(*Table)
	var b strings.Builder
	if err := table.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", b.String())
	if len(table.Warnings) > 0 {
		t.Errorf("warnings: %v", table.Warnings)
	}
	rows := map[string]Row{}
	for _, r := range table.Rows {
		rows[r.Label()] = r
	}
	if len(rows) != 6 {
		t.Fatalf("got rows %v, want 6", len(rows))
	}
	sticky, none := lb.StickyApp+"/redis/on", lb.StickyNone+"/redis/on"
	for _, label := range []string{sticky, none, lb.StickyApp + "/redis/off", lb.StickyNone + "/redis/off", lb.StickyApp + "/memory/-"} {
		r := rows[label]
		if r.LoggedOut != 0 || r.Failed != 0 {
			t.Errorf("%s: %d users logged out, %d requests failed; want none", label, r.LoggedOut, r.Failed)
		}
		if r.M(colRequestsPerSecond) <= 0 {
			t.Errorf("%s: got %v requests/s, want some", label, r.M(colRequestsPerSecond))
		}
	}
	if got := rows[lb.StickyNone+"/memory/-"].LoggedOut; got == 0 {
		t.Errorf("memory without stickiness logged nobody out, want users logged out")
	}
	if s, n := rows[sticky].M(colHitRatio), rows[none].M(colHitRatio); s < 90 || n > s/2 {
		t.Errorf("cache hits: %v%% with stickiness, %v%% without; want over 90%% with, under half of that without", s, n)
	}
	if s, n := rows[sticky].M(colRoundTrips), rows[none].M(colRoundTrips); s >= n || s > 1.2 {
		t.Errorf("round trips per request with the cache: %v with stickiness, %v without; want fewer with, about 1 (the write)", s, n)
	}
	if off := rows[lb.StickyApp+"/redis/off"].M(colRoundTrips); off < 1.9 {
		t.Errorf("round trips per request without the cache: got %v, want about 2 (a load and a write)", off)
	}
	if len(table.Findings) < 4 {
		t.Errorf("got findings %q, want at least four", table.Findings)
	}
}
