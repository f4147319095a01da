package sessionstore

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the stores do and how long their backends take. One
// Metrics may serve several stores: every series has a "store" label with
// the store's Mode. A nil *Metrics records nothing. Safe for concurrent use.
//
// Series (all prefixed stickylab_sessionstore_):
//
//	loads_total{store,result}      result: found, unknown (strict mode: a fresh session), none (no valid cookie), migrated (moved from Config.MigrateFrom; also counted as found)
//	saves_total{store,result}      result: written, renewed, unchanged (no data written), empty (new and empty: nothing kept), deleted
//	conflicts_total{store}         Saves that lost a compare-and-set race (ErrConflict)
//	evictions_total{store,rank}    sessions a full memory store evicted to make room (Config.MaxSessions, Config.Rank)
//	errors_total{store,op}         op: load, save, delete, ping (ErrUnavailable), decode (a stored record that is not ours), too_large (a cookie-store session refused: ErrTooLarge)
//	backend_duration_seconds{store,op}  latency of backend calls; op: load, write, remove, ping
//	round_trips_total{store}       commands a Redis store sent and waited for (a GET, a script); a cache hit sends none
//	touches_total{store}           loads that extended a Redis session's idle expiry (a write; Config.IdleGrace)
//	cache_lookups_total{store,result}   loads of a Redis store with Config.Cache; result: hit (no round trip), miss, off (the cache may not serve: its connection is down or not fresh)
//	cache_invalidations_total{store}    cached sessions dropped because Redis said another instance changed them (or FLUSHALL)
//	cache_resets_total{store}      times the cache's connection was lost and the whole cache dropped
type Metrics struct {
	loads         *prometheus.CounterVec
	saves         *prometheus.CounterVec
	conflicts     *prometheus.CounterVec
	evictions     *prometheus.CounterVec
	errors        *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	touches       *prometheus.CounterVec
	roundTrips    *prometheus.CounterVec
	cacheLookups  *prometheus.CounterVec
	invalidations *prometheus.CounterVec
	cacheResets   *prometheus.CounterVec
}

// NewMetrics creates the store metrics and registers them with reg (nil: not
// registered). Collectors that reg already holds from an earlier NewMetrics
// are reused, so two stores may each call it. It panics when reg refuses the
// collectors for another reason, a programming error, as
// prometheus.MustRegister does.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	const ns, sub = "stickylab", "sessionstore"
	m := &Metrics{
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "loads_total",
			Help: "Session loads by outcome: found, unknown (a fresh session replaced an unknown ID), none (no valid cookie).",
		}, []string{"store", "result"}),
		saves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "saves_total",
			Help: "Session saves by outcome: written, renewed, unchanged (nothing written), empty (nothing kept), deleted.",
		}, []string{"store", "result"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "conflicts_total",
			Help: "Saves that lost a compare-and-set race because the session changed since it was loaded.",
		}, []string{"store"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "evictions_total",
			Help: "Sessions a full memory store evicted to make room for a new one, by eviction rank (0 is evicted first).",
		}, []string{"store", "rank"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "errors_total",
			Help: "Failed store operations by operation: load, save, delete, ping; decode counts stored records that could not be read.",
		}, []string{"store", "op"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "backend_duration_seconds",
			Help:    "Latency of session backend calls by operation: load, write, remove, ping.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2.5, 12), // 50µs to about 1.2s
		}, []string{"store", "op"}),
		touches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "touches_total",
			Help: "Loads that extended a Redis session's idle expiry, a write, when less than the idle timeout was left of it.",
		}, []string{"store"}),
		roundTrips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "round_trips_total",
			Help: "Commands a Redis store sent and waited for (a GET, a script); a cache hit sends none.",
		}, []string{"store"}),
		cacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "cache_lookups_total",
			Help: "Session loads through the cache by result: hit (no round trip), miss, off (the cache's connection is down or not fresh).",
		}, []string{"store", "result"}),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "cache_invalidations_total",
			Help: "Cached sessions dropped because Redis said another client changed them.",
		}, []string{"store"}),
		cacheResets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "cache_resets_total",
			Help: "Times the cache's connection to Redis was lost and the whole cache dropped.",
		}, []string{"store"}),
	}
	if reg == nil {
		return m
	}
	m.loads = register(reg, m.loads)
	m.saves = register(reg, m.saves)
	m.conflicts = register(reg, m.conflicts)
	m.evictions = register(reg, m.evictions)
	m.errors = register(reg, m.errors)
	m.duration = register(reg, m.duration)
	m.touches = register(reg, m.touches)
	m.roundTrips = register(reg, m.roundTrips)
	m.cacheLookups = register(reg, m.cacheLookups)
	m.invalidations = register(reg, m.invalidations)
	m.cacheResets = register(reg, m.cacheResets)
	return m
}

// register registers c, or returns the equal collector reg already has.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic("sessionstore: register metrics: " + err.Error())
}

func (m *Metrics) load(store, result string) {
	if m != nil {
		m.loads.WithLabelValues(store, result).Inc()
	}
}

func (m *Metrics) save(store, result string) {
	if m != nil {
		m.saves.WithLabelValues(store, result).Inc()
	}
}

func (m *Metrics) conflict(store string) {
	if m != nil {
		m.conflicts.WithLabelValues(store).Inc()
	}
}

func (m *Metrics) evict(store string, rank int) {
	if m != nil {
		m.evictions.WithLabelValues(store, strconv.Itoa(rank)).Inc()
	}
}

func (m *Metrics) failure(store, op string) {
	if m != nil {
		m.errors.WithLabelValues(store, op).Inc()
	}
}

// observe records the latency of one backend call that started at start.
func (m *Metrics) observe(store, op string, start time.Time) {
	if m != nil {
		m.duration.WithLabelValues(store, op).Observe(time.Since(start).Seconds())
	}
}

func (m *Metrics) touch(store string) {
	if m != nil {
		m.touches.WithLabelValues(store).Inc()
	}
}

func (m *Metrics) cacheLookup(store, result string) {
	if m != nil {
		m.cacheLookups.WithLabelValues(store, result).Inc()
	}
}

func (m *Metrics) invalidate(store string, n int) {
	if m != nil && n > 0 {
		m.invalidations.WithLabelValues(store).Add(float64(n))
	}
}

func (m *Metrics) cacheReset(store string) {
	if m != nil {
		m.cacheResets.WithLabelValues(store).Inc()
	}
}

func (m *Metrics) roundTrip(store string) {
	if m != nil {
		m.roundTrips.WithLabelValues(store).Inc()
	}
}
