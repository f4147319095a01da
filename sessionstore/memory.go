package sessionstore

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// NewMemory returns a store that keeps sessions in this process's memory.
// They are lost when the process ends and are not shared with other
// instances: behind a load balancer, only sticky sessions keep a user on the
// instance that knows them. That is the point of the lab.
//
// keys sign the cookie: the newest first; older keys still verify, so a key
// can be rotated by putting a new one in front. At least one non-empty key is
// required; use 32 random bytes. Values go through JSON exactly as with
// Redis. A sweeper goroutine removes expired sessions every SweepInterval
// until Close. At most MaxSessions are kept: when a new session would pass
// the cap, the least recently used session of the lowest Rank is evicted, so
// a flood of new sessions that hold little never pushes out one that holds
// more (a logged-in user's), and it is counted in Metrics.
func NewMemory(keys [][]byte, cfg Config) (*Store, error) {
	s, err := newStore("memory", keys, cfg)
	if err != nil {
		return nil, err
	}
	m := newMemory(s.cfg.IdleTimeout, s.cfg.MaxSessions)
	m.evicted = func(rank int) { s.cfg.Metrics.evict(s.mode, rank) }
	s.be = m
	s.stop = m.sweepEvery(s.cfg.SweepInterval, s.cfg.now)
	return s, nil
}

// memory is the in-process backend: a map from ID to entry, and for each
// rank a list of its entries in the order they were last used (loaded or
// written), so that eviction of the least recently used of the lowest rank
// is O(1).
type memory struct {
	idle    time.Duration
	max     int
	evicted func(rank int) // called under mu for each session evicted by the cap; may be nil

	mu      sync.Mutex // protects entries and byRank
	entries map[string]*memEntry
	byRank  [maxRank + 1]*list.List // of *memEntry, least recently used first
}

// memEntry is one stored session; data is never modified after it is
// stored, so load can hand it out without copying.
type memEntry struct {
	id       string
	version  uint64
	deadline time.Time
	expires  time.Time // min(last load or write + idle, deadline)
	data     []byte
	rank     int
	elem     *list.Element // in byRank[rank]
}

var _ backend = (*memory)(nil)

func newMemory(idle time.Duration, max int) *memory {
	m := &memory{idle: idle, max: max, entries: make(map[string]*memEntry)}
	for i := range m.byRank {
		m.byRank[i] = list.New()
	}
	return m
}

// expiry is when a session touched at now expires.
func (m *memory) expiry(deadline, now time.Time) time.Time {
	if t := now.Add(m.idle); t.Before(deadline) {
		return t
	}
	return deadline
}

// live returns the unexpired entry of id; an expired one is dropped.
// m.mu must be held.
func (m *memory) live(id string, now time.Time) *memEntry {
	e := m.entries[id]
	if e != nil && !now.Before(e.expires) {
		m.drop(e)
		return nil
	}
	return e
}

// drop removes e. m.mu must be held.
func (m *memory) drop(e *memEntry) {
	delete(m.entries, e.id)
	m.byRank[e.rank].Remove(e.elem)
}

// evictOne removes the least recently used entry of the lowest rank that
// has any. m.mu must be held and m.entries must not be empty.
func (m *memory) evictOne() {
	for rank, l := range m.byRank {
		if front := l.Front(); front != nil {
			m.drop(front.Value.(*memEntry))
			if m.evicted != nil {
				m.evicted(rank)
			}
			return
		}
	}
}

func (m *memory) load(_ context.Context, id string, now time.Time) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.live(id, now)
	if e == nil {
		return nil, nil
	}
	e.expires = m.expiry(e.deadline, now)
	m.byRank[e.rank].MoveToBack(e.elem)
	return e.data, nil
}

func (m *memory) write(_ context.Context, id string, prev uint64, force bool, rec []byte, rank int, deadline, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.live(id, now)
	var have uint64
	if e != nil {
		have = e.version
	}
	if have != prev && !force {
		return false, nil
	}
	if e == nil {
		for len(m.entries) >= m.max {
			m.evictOne()
		}
		e = &memEntry{id: id, rank: rank}
		e.elem = m.byRank[rank].PushBack(e)
		m.entries[id] = e
	} else {
		m.byRank[e.rank].Remove(e.elem)
		e.rank = rank
		e.elem = m.byRank[rank].PushBack(e)
	}
	e.version = prev + 1
	e.deadline = deadline
	e.expires = m.expiry(deadline, now)
	e.data = rec
	return true, nil
}

func (m *memory) remove(_ context.Context, id string, prev uint64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[id]
	if e == nil || (prev != 0 && e.version != prev) {
		return false, nil
	}
	m.drop(e)
	return true, nil
}

func (m *memory) ping(context.Context) error { return nil }

// len is the number of entries, expired or not.
func (m *memory) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// sweep removes the entries expired at now. It holds the lock for one pass
// over the map: about a millisecond for the default cap of 100,000.
func (m *memory) sweep(now time.Time) (removed int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.entries {
		if !now.Before(e.expires) {
			m.drop(e)
			removed++
		}
	}
	return removed
}

// sweepEvery starts the sweeper goroutine and returns its stop function,
// which returns once the goroutine has ended.
func (m *memory) sweepEvery(interval time.Duration, now func() time.Time) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				m.sweep(now())
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
