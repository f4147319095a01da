package sessionstore

import (
	"fmt"
	"sync"
	"time"
)

// CacheConfig tunes Config.Cache, the Redis store's cache of sessions in
// this process. The zero value works; the defaults are in the comments.
//
// The guarantee, with the cache on:
//
//   - No update is ever lost. The cache serves loads only; every write is
//     still the compare-and-set in Redis, so a change based on a stale
//     copy fails with ErrConflict, and the app's reload after a conflict
//     goes to Redis (a failed compare-and-set drops the cached copy).
//   - A load served from the cache on any instance returns a copy at least
//     as new as every write that was acknowledged to its writer more than
//     MaxStale before the load. Redis tells every instance of every change
//     to a session key on the cache's connection, usually within a
//     millisecond; MaxStale is the bound when that connection is slow or
//     silently gone: a copy is only served while the connection has
//     answered a PING sent less than MaxStale ago.
//   - A session this instance wrote is served as written (read your own
//     writes): the cache keeps what it wrote, and Redis does not tell a
//     connection of its own changes (CLIENT TRACKING ... NOLOOP).
//   - When the connection drops (CLIENT KILL, a Redis restart, a network
//     failure), the whole cache is dropped; until it is back, every load
//     goes to Redis as without a cache.
type CacheConfig struct {
	// MaxEntries caps the sessions cached; past it, an arbitrary one is
	// dropped for the new one. Default 10,000.
	MaxEntries int

	// MaxStale bounds how old a copy the cache may serve (see above). The
	// cache's connection sends a PING every MaxStale/4. Default 1s, at
	// least 10ms.
	MaxStale time.Duration
}

func (c CacheConfig) withDefaults() (CacheConfig, error) {
	switch {
	case c.MaxEntries < 0:
		return c, fmt.Errorf("sessionstore: Cache.MaxEntries %d is negative", c.MaxEntries)
	case c.MaxEntries == 0:
		c.MaxEntries = 10_000
	}
	switch {
	case c.MaxStale == 0:
		c.MaxStale = time.Second
	case c.MaxStale < 10*time.Millisecond:
		return c, fmt.Errorf("sessionstore: Cache.MaxStale %v is below 10ms", c.MaxStale)
	}
	return c, nil
}

// cache holds session records by Redis key. It knows nothing of validity:
// trackConn puts and drops entries in the order Redis answered, and decides
// when the cache may serve.
type cache struct {
	max int

	mu sync.RWMutex // protects m
	m  map[string][]byte
}

func newCache(max int) *cache {
	return &cache{max: max, m: make(map[string][]byte)}
}

// get returns the record cached under key.
func (c *cache) get(key string) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[key]
	return v, ok
}

// put caches rec under key, dropping an arbitrary entry when full. rec must
// not be modified afterwards.
func (c *cache) put(key string, rec []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[key] = rec
}

// drop removes key; ok says whether it was cached.
func (c *cache) drop(key string) (ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok = c.m[key]
	delete(c.m, key)
	return ok
}

// flush removes everything and returns how many entries there were.
func (c *cache) flush() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.m)
	clear(c.m)
	return n
}

// len is the number of entries.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
