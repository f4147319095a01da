package sessionstore

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stickylab/internal/redistest"
)

func TestMetricsCountOutcomes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	if again := NewMetrics(reg); again.loads != m.loads {
		t.Errorf("a second NewMetrics on the same registry made new collectors, want the registered ones")
	}
	e := newMemoryEnv(t, Config{Metrics: m})
	s := e.store

	if _, err := save(s, load(t, s, nil)); err != nil { // load none, save empty
		t.Fatal(err)
	}
	c, _ := stored(t, s, map[string]any{"n": 1})
	a, b := load(t, s, c), load(t, s, c) // 2 found
	mustSave(t, s, a)                    // unchanged
	a.Values["n"] = 2
	mustSave(t, s, a) // written
	b.Values["n"] = 3
	if _, err := save(s, b); !errors.Is(err, ErrConflict) { // conflict
		t.Fatalf("got %v, want ErrConflict", err)
	}
	s.Renew(a)
	mustSave(t, s, a)
	a.Options.MaxAge = -1
	save(s, a)    // deleted
	load(t, s, c) // unknown
	got := gathered(t, reg)
	for series, want := range map[string]float64{
		`loads_total{result="none",store="memory"}`:            2,
		`loads_total{result="found",store="memory"}`:           2,
		`loads_total{result="unknown",store="memory"}`:         1,
		`saves_total{result="empty",store="memory"}`:           1,
		`saves_total{result="written",store="memory"}`:         2,
		`saves_total{result="unchanged",store="memory"}`:       1,
		`saves_total{result="renewed",store="memory"}`:         1,
		`saves_total{result="deleted",store="memory"}`:         1,
		`conflicts_total{store="memory"}`:                      1,
		`backend_duration_seconds{op="load",store="memory"}`:   3,
		`backend_duration_seconds{op="write",store="memory"}`:  4,
		`backend_duration_seconds{op="remove",store="memory"}`: 2,
	} {
		if got[series] != want {
			t.Errorf("%s: got %v, want %v", series, got[series], want)
		}
	}
}

// gathered returns the value of every counter, and the sample count of every
// histogram, in reg by series: the name without the common prefix, and the
// labels in order.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"=\""+l.GetValue()+"\"")
			}
			sort.Strings(labels)
			name := strings.TrimPrefix(f.GetName(), "stickylab_sessionstore_") + "{" + strings.Join(labels, ",") + "}"
			if h := m.GetHistogram(); h != nil {
				out[name] = float64(h.GetSampleCount())
			} else {
				out[name] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func TestMetricsCountErrors(t *testing.T) {
	srv := redistest.Start(t)
	reg := prometheus.NewRegistry()
	e := newRealRedisEnv(t, srv, Config{Metrics: NewMetrics(reg), Timeout: 500 * time.Millisecond})
	c, _ := stored(t, e.store, map[string]any{"n": 1})
	srv.Kill()
	if _, err := e.store.New(request(c), cookieName); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("load from a dead Redis: got %v, want ErrUnavailable", err)
	}
	if err := e.store.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("ping of a dead Redis: got %v, want ErrUnavailable", err)
	}
	got := gathered(t, reg)
	for series, want := range map[string]float64{
		`errors_total{op="load",store="redis"}`: 1,
		`errors_total{op="ping",store="redis"}`: 1,
	} {
		if got[series] != want {
			t.Errorf("%s: got %v, want %v", series, got[series], want)
		}
	}
}

// TestMetricsCountTouchesAndRoundTrips: on Redis without a cache, a load is
// one round trip, a change one more, and a load with less than the idle
// timeout left one more for its touch, counted as such.
func TestMetricsCountTouchesAndRoundTrips(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newMiniredisEnv(t, Config{IdleTimeout: time.Hour, Metrics: NewMetrics(reg)})
	c, _ := stored(t, e.store, map[string]any{"n": 1}) // 1: the write
	sess := load(t, e.store, c)                        // 2: a GET
	sess.Values["n"] = 2
	mustSave(t, e.store, sess) // 3: the write
	e.advance(10 * time.Minute)
	load(t, e.store, c) // 4: a GET, 5: the touch (56 minutes left, under the hour)
	got := gathered(t, reg)
	for series, want := range map[string]float64{
		`round_trips_total{store="redis"}`: 5,
		`touches_total{store="redis"}`:     1,
	} {
		if got[series] != want {
			t.Errorf("%s: got %v, want %v", series, got[series], want)
		}
	}
}
