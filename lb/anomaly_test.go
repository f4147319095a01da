package lb

import (
	"testing"
)

// TestAnomalyMitigation: with weighted_random and anomaly_mitigation, a
// target that passes its health checks but fails its requests (it closes
// every connection: 502) soon gets a small share of new requests; without
// mitigation it keeps about a third.
func TestAnomalyMitigation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, tc := range []struct {
			name      string
			mitigate  string
			wantBelow float64
			wantAbove float64
		}{
			{"on", "true", 0.12, 0},
			{"off", "false", 1, 0.2},
		} {
			t.Run(tc.name, func(t *testing.T) {
				bs, _ := backends(t, 3)
				r := serveRouter(t, `
listener: {default_action: {forward: {target_group: g}}}
target_groups:
  - {name: g, algorithm: weighted_random, anomaly_mitigation: `+tc.mitigate+`, targets: [app-1={app-1}, app-2={app-2}, app-3={app-3}]}
`, bs, Config{Engine: engine})
				bs[0].die.Store(true) // healthy by its checks, failing its requests
				for range 60 {
					do(t, newClient(t), "GET", r.url+"/", nil) // the detection's sample
				}
				failed := 0
				const n = 300
				for range n {
					if resp, _ := do(t, newClient(t), "GET", r.url+"/", nil); resp.StatusCode == 502 {
						failed++
					}
				}
				share := float64(failed) / n
				t.Logf("app-1's share of requests: %.1f%%", 100*share)
				if share >= tc.wantBelow || share <= tc.wantAbove {
					t.Errorf("app-1 (failing) got %.2f of the requests, want below %.2f and above %.2f", share, tc.wantBelow, tc.wantAbove)
				}
				if st := r.groupTarget("g", "app-1").State; st != StateHealthy {
					t.Fatalf("app-1 is %s, want healthy (its health checks pass)", st)
				}
			})
		}
	})
}
