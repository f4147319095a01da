package lb

import (
	"net/http"
	"sync/atomic"
	"testing"
)

// TestStdEngineIsNetHTTP: the std engine serves with net/http alone: no
// request takes the fast engine's direct path, and no target has the fast
// engine's connection pool (so every exchange goes through http.Transport).
func TestStdEngineIsNetHTTP(t *testing.T) {
	var direct atomic.Int32
	_, ts := backends(t, 2)
	r := serveWith(t, Config{Engine: EngineStd, Targets: ts}, func(b *Balancer) { setDirect(b, false, func() { direct.Add(1) }) })
	waitHealthy(t, r)
	c := newClient(t)
	for range 4 {
		if resp, _ := do(t, c, http.MethodGet, r.url+"/", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("got %s, want 200", resp.Status)
		}
	}
	if n := direct.Load(); n != 0 {
		t.Errorf("got %d requests on the direct path, want 0", n)
	}
	for _, tg := range r.pool.all {
		if _, ok := tg.conns.(stdConns); !ok {
			t.Errorf("target %s has the fast engine's connection pool, want none", tg.name)
		}
		if _, ok := tg.proxy.(stdProxy); !ok {
			t.Errorf("target %s has the fast engine's direct path, want ReverseProxy", tg.name)
		}
	}
}
