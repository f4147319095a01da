package lab

import (
	"context"
	"strings"
	"testing"
	"time"

	"stickylab/lb"
)

// TestStoreFailover runs the store-failover scenario with real processes:
// redis-server as the single Redis and as the primary, replica and three
// Sentinels, real instances and a real balancer. Every row answers 503
// while its store is away, and nothing but 503; the single Redis without
// persistence comes back empty, so every user is logged out; with AOF it
// reads the sessions back, and with Sentinel the replica has them: nobody
// is logged out.
func TestStoreFailover(t *testing.T) {
	requireRedisServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cfg := ExperimentConfig{Binary: stickylab, Users: 6, Requests: 3, Instances: 2, PassiveFailover: true}.withDefaults()
	out, err := storeFailoverScenario().Run(ctx, cfg)
	if err != nil {
		t.Fatalf("store-failover: %v", err)
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
		rows[r.Variant] = r
	}
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3: single, single+aof, sentinel", len(rows))
	}
	wantLoggedOut := map[string]int{redisSingle: cfg.Users, redisSingleAOF: 0, redisSentinel: 0}
	for variant, want := range wantLoggedOut {
		r := rows[variant]
		if r.Sticky != lb.StickyDuration || r.Store != "redis" {
			t.Errorf("%s: row %s, want duration/redis", variant, r.Label())
		}
		if r.LoggedOut != want {
			t.Errorf("%s: %d users logged out, want %d", variant, r.LoggedOut, want)
		}
		if n := int(r.M(m503)); n == 0 || r.Failed != n {
			t.Errorf("%s: %d requests failed (%s), %d of them 503; want some, all 503", variant, r.Failed, failedWhy(r.FailedBy), n)
		}
		if r.M(m503Window) <= 0 || r.M(mStoreBack) <= 0 {
			t.Errorf("%s: 503 window %v s, store back after %v s; want both above zero", variant, r.M(m503Window), r.M(mStoreBack))
		}
	}
	for _, variant := range []string{redisSingle, redisSingleAOF} {
		if back := rows[variant].M(mStoreBack); back < singleRestartAfter.Seconds() {
			t.Errorf("%s: store back after %v s, want at least the restart delay %v", variant, back, singleRestartAfter)
		}
	}
	findings := strings.Join(table.Findings, "\n")
	for _, want := range []string{"primary of the Sentinel setup gave", "and nobody was logged out", "6 of 6 users were logged out", "The Sentinel setup's 503s lasted"} {
		if !strings.Contains(findings, want) {
			t.Errorf("findings lack %q:\n%s", want, findings)
		}
	}
}

// TestStoreFailoverWithoutRedisServer: in a run of every scenario on a
// machine without redis-server, store-failover runs no row and its table
// says why; nothing fails and nothing is hidden.
func TestStoreFailoverWithoutRedisServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	out, err := storeFailoverScenario().Run(t.Context(), ExperimentConfig{Binary: stickylab}.withDefaults())
	if err != nil {
		t.Fatalf("store-failover without redis-server: %v", err)
	}
	table := out.(*Table)
	if len(table.Rows) != 0 || len(table.Warnings) != 1 || !strings.Contains(table.Warnings[0], "redis-server not found") {
		t.Errorf("got %d rows, warnings %q; want no row and a warning naming redis-server", len(table.Rows), table.Warnings)
	}
}
