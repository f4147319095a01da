package lab

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// StoreStats is what an instance's session store reports in its metrics
// (GET /metrics): the Redis round trips it made and what its cache did.
type StoreStats struct {
	RoundTrips float64 `json:"round_trips"`
	Hits       float64 `json:"cache_hits"`
	Misses     float64 `json:"cache_misses"`
	Off        float64 `json:"cache_off"` // loads while the cache could not serve
}

// HitRatio is the share of loads the cache served, or -1 when it served
// none and missed none (no cache, or no load yet).
func (s StoreStats) HitRatio() float64 {
	if s.Hits+s.Misses+s.Off == 0 {
		return -1
	}
	return s.Hits / (s.Hits + s.Misses + s.Off)
}

// Sub is s minus an earlier reading.
func (s StoreStats) Sub(before StoreStats) StoreStats {
	return StoreStats{
		RoundTrips: s.RoundTrips - before.RoundTrips,
		Hits:       s.Hits - before.Hits,
		Misses:     s.Misses - before.Misses,
		Off:        s.Off - before.Off,
	}
}

// Add is s plus o.
func (s StoreStats) Add(o StoreStats) StoreStats {
	return StoreStats{s.RoundTrips + o.RoundTrips, s.Hits + o.Hits, s.Misses + o.Misses, s.Off + o.Off}
}

// scrapeStoreStats reads the store's counters off an instance's /metrics,
// parsed by Prometheus's own text parser.
func scrapeStoreStats(ctx context.Context, client *http.Client, instanceURL string) (StoreStats, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, instanceURL+"/metrics", nil)
	if err != nil {
		return StoreStats{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return StoreStats{}, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return StoreStats{}, fmt.Errorf("metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return StoreStats{}, fmt.Errorf("metrics: %w", err)
	}
	var s StoreStats
	if f := families["stickylab_sessionstore_round_trips_total"]; f != nil {
		for _, m := range f.GetMetric() {
			s.RoundTrips += m.GetCounter().GetValue()
		}
	}
	if f := families["stickylab_sessionstore_cache_lookups_total"]; f != nil {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "result" {
					continue
				}
				switch v := m.GetCounter().GetValue(); l.GetValue() {
				case "hit":
					s.Hits += v
				case "miss":
					s.Misses += v
				case "off":
					s.Off += v
				}
			}
		}
	}
	return s, nil
}
