package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/sessions"
)

var (
	// ErrConflict is returned by Save when the session was written by someone
	// else (another request, another instance) since it was loaded, or expired
	// meanwhile. Nothing was written. The caller loads it again with Store.New
	// and re-applies its change.
	ErrConflict = errors.New("sessionstore: session changed since it was loaded")

	// ErrUnavailable is wrapped, together with its cause, into every error of
	// a failing backend (Redis down, a time-out, a cancelled context): test it
	// with errors.Is. A failed load is never turned into an empty session.
	ErrUnavailable = errors.New("sessionstore: session store unavailable")
)

// Config tunes a Store. The zero value works; the defaults are in the
// comments.
type Config struct {
	// IdleTimeout ends a session that was not loaded for this long. It slides
	// with every load and is enforced by the store (in Redis, as the key's
	// TTL and the record's expires), not only by the cookie. Memory ends a
	// session exactly IdleTimeout after its last load; Redis between
	// IdleTimeout and IdleTimeout+IdleGrace after it. Default 30m.
	IdleTimeout time.Duration

	// IdleGrace lets a Redis load slide the idle timeout without writing:
	// a load writes (a "touch", one round trip) only when less than
	// IdleTimeout is left of the stored expiry, and then sets it to
	// IdleTimeout+IdleGrace from now (never past the deadline). A load
	// therefore stays a plain GET, which the cache can serve, and an active
	// session costs at most one touch per IdleGrace; in exchange a session
	// may outlive its last request by up to IdleGrace more than
	// IdleTimeout, never less than IdleTimeout. Redis only. Default
	// IdleTimeout/10.
	IdleGrace time.Duration

	// Lifetime ends a session this long after it was first stored, however
	// active it is. It is stored with the data as a deadline. Default 24h.
	Lifetime time.Duration

	// Timeout bounds every backend call, on top of the request context's own
	// deadline. Default 2s. A Redis client made elsewhere must have
	// ContextTimeoutEnabled for it to interrupt a hung connection;
	// NewRedisClient sets it.
	Timeout time.Duration

	// MaxSessions caps the sessions a memory store keeps; past it, the
	// least recently used session of the lowest Rank is evicted. Memory
	// only. Default 100,000.
	MaxSessions int

	// Rank says how much a session is worth keeping when a memory store is
	// full, from 0 (evicted first) to 3, computed from its values at every
	// write; out-of-range ranks are clamped. Within a rank, the least
	// recently used session goes first. An application ranks a logged-in
	// user above a session that holds less, so that a flood of new sessions
	// cannot push users out. Memory only (Redis evicts by its own
	// maxmemory-policy). Default: every session has rank 0.
	Rank func(values map[any]any) int

	// SweepInterval is how often a memory store removes expired sessions.
	// Memory only. Default 1m.
	SweepInterval time.Duration

	// KeyPrefix is put before the hashed ID to make a Redis key. Redis only.
	// Default "stickylab:session:".
	KeyPrefix string

	// LastWriterWins turns compare-and-set off: a Save of a loaded session
	// writes over whatever is stored, as the usual gorilla stores do, so of
	// two concurrent changes one is silently lost (and a session deleted
	// meanwhile comes back). For the lab's lesson on lost updates only.
	// New sessions and renewals still never overwrite anything. Default
	// false: compare-and-set.
	LastWriterWins bool

	// MigrateFrom is a store whose sessions move into this one: a session
	// this store lacks is loaded from MigrateFrom, written here under the
	// same ID and removed there, on its first load, so that a move (from
	// this process's memory to Redis, say) logs nobody out. It must share
	// this store's keys. It is not closed with this store. Each move counts
	// as loads_total{result="migrated"}. Default nil: no migration.
	MigrateFrom *Store

	// Cache keeps a copy of the sessions this process loads and writes, kept
	// valid by Redis's invalidation messages, so that a load of a cached
	// session costs no round trip (see CacheConfig for the guarantee).
	// Redis only, and only on a single server's client: a Sentinel or
	// Cluster client, or a server without RESP3 and CLIENT TRACKING (Redis
	// before 6, miniredis), gets the store without a cache. Default nil:
	// no cache.
	Cache *CacheConfig

	// Logger receives what the cache's connection does (lost, back, off);
	// nil discards it.
	Logger *slog.Logger

	// Metrics receives counts and latencies; nil records nothing.
	Metrics *Metrics

	// now is the clock; nil means time.Now. Tests set it.
	now func() time.Time
}

// withDefaults returns c with zero fields set to their defaults, or an error
// naming a field that has no meaning.
func (c Config) withDefaults() (Config, error) {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"IdleTimeout", &c.IdleTimeout, 30 * time.Minute},
		{"Lifetime", &c.Lifetime, 24 * time.Hour},
		{"Timeout", &c.Timeout, 2 * time.Second},
		{"SweepInterval", &c.SweepInterval, time.Minute},
	} {
		switch {
		case *d.v < 0:
			return c, fmt.Errorf("sessionstore: %s %v is negative", d.name, *d.v)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if c.IdleTimeout < time.Millisecond || c.Lifetime < time.Second {
		return c, fmt.Errorf("sessionstore: IdleTimeout %v or Lifetime %v too short (at least 1ms and 1s)", c.IdleTimeout, c.Lifetime)
	}
	switch {
	case c.IdleGrace < 0:
		return c, fmt.Errorf("sessionstore: IdleGrace %v is negative", c.IdleGrace)
	case c.IdleGrace == 0:
		c.IdleGrace = max(c.IdleTimeout/10, time.Millisecond)
	}
	if c.Cache != nil {
		cc, err := c.Cache.withDefaults()
		if err != nil {
			return c, err
		}
		c.Cache = &cc
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.MaxSessions < 0:
		return c, fmt.Errorf("sessionstore: MaxSessions %d is negative", c.MaxSessions)
	case c.MaxSessions == 0:
		c.MaxSessions = 100_000
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "stickylab:session:"
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// expiry is the idle expiry a Redis write or touch at now sets:
// IdleTimeout+IdleGrace from now, or the deadline if that comes first.
func (c Config) expiry(deadline, now time.Time) time.Time {
	if t := now.Add(c.IdleTimeout + c.IdleGrace); t.Before(deadline) {
		return t
	}
	return deadline
}

// maxRank is the highest eviction rank (Config.Rank).
const maxRank = 3

// rank is the eviction rank of values, clamped to 0..maxRank.
func (c Config) rank(values map[any]any) int {
	if c.Rank == nil {
		return 0
	}
	return min(max(c.Rank(values), 0), maxRank)
}

// backend keeps session records (see record) by session ID. Not found is
// (nil, nil), not an error; an error means the backend failed. The methods
// are safe for concurrent use, and each write is atomic.
type backend interface {
	// load returns the record of id and slides its expiry to
	// min(idle timeout, deadline-now) from now; nil when there is none.
	load(ctx context.Context, id string, now time.Time) ([]byte, error)
	// write stores rec, of version prev+1 and eviction rank (0..maxRank; see
	// Config.Rank), under id if the stored version is still prev (0: nothing
	// stored), or whatever is stored when force is set; ok=false when it
	// is not.
	write(ctx context.Context, id string, prev uint64, force bool, rec []byte, rank int, deadline, now time.Time) (ok bool, err error)
	// remove deletes id if its stored version is prev; prev 0 means any
	// version. ok=false when there was nothing to delete.
	remove(ctx context.Context, id string, prev uint64) (ok bool, err error)
	// ping checks that the backend answers.
	ping(ctx context.Context) error
}

// Store is a gorilla/sessions store that keeps session data server-side in
// a backend (this process's memory, or Redis) and only a signed random ID in
// the cookie. Safe for concurrent use; a *sessions.Session itself is not, as
// with every gorilla store: use it from one goroutine.
//
// Trust: the cookie is attacker-controlled input. It is only believed when
// its HMAC verifies under one of the keys and the backend knows its ID; the
// backend (Redis) is trusted.
type Store struct {
	be       backend
	mode     string
	cookies  *cookieCodec
	cfg      Config
	options  sessions.Options
	states   *tracker
	stop     func() // stops background work; nil when there is none
	stopOnce sync.Once
}

var _ sessions.Store = (*Store)(nil)

// newStore builds the Store shared by NewMemory and NewRedis.
func newStore(mode string, keys [][]byte, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cookies, err := newCookieCodec(keys, cfg.Lifetime)
	if err != nil {
		return nil, err
	}
	return &Store{
		mode:    mode,
		cookies: cookies,
		cfg:     cfg,
		options: defaultOptions(cfg.Lifetime),
		states:  newTracker(),
	}, nil
}

// Get returns the session called name for r, loading it on the first call
// in a request and returning the same *sessions.Session afterwards
// (gorilla's per-request registry). On error it returns a new session as
// well, which Save refuses to store.
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session called name from the backend, bypassing the request
// registry: use it to reload after ErrConflict. Without a valid cookie, or
// when the backend does not know its ID (expired, deleted, forged, issued by
// another store), it returns a new empty session that will get a fresh ID
// when saved: a client-chosen ID is never adopted. The new session's Options
// are the defaults: Path "/", HttpOnly, SameSite Lax, MaxAge the Lifetime.
//
// Values have string keys and come back from JSON: numbers as float64,
// arrays as []any, objects as map[string]any.
//
// When the backend fails, New returns a new session and an error wrapping
// ErrUnavailable; saving that session fails too, so the stored one survives.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	sess, st := s.states.start(s, name, s.options)
	id, ok := s.cookieID(r, name)
	if !ok {
		s.cfg.Metrics.load(s.mode, "none")
		return sess, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	now := s.cfg.now()
	start := time.Now()
	b, err := s.be.load(ctx, id, now)
	s.cfg.Metrics.observe(s.mode, "load", start)
	if err != nil {
		s.cfg.Metrics.failure(s.mode, "load")
		st.failed = fmt.Errorf("%w: load session: %w", ErrUnavailable, err)
		return sess, st.failed
	}
	rec, values, ok := s.decode(b, now)
	if !ok {
		s.cfg.Metrics.load(s.mode, "unknown")
		return sess, nil
	}
	sess.ID = id
	sess.Values = values
	sess.IsNew = false
	*st = state{
		id:       id,
		version:  rec.Version,
		created:  time.UnixMilli(rec.Created),
		deadline: time.UnixMilli(rec.Deadline),
		values:   rec.Values,
	}
	s.cfg.Metrics.load(s.mode, "found")
	return sess, nil
}

// cookieID returns the ID of the first cookie called name that verifies. A
// request may carry several (one per path or domain, or one planted by a
// sibling domain); unverifiable ones are ignored.
func (s *Store) cookieID(r *http.Request, name string) (string, bool) {
	for _, c := range r.CookiesNamed(name) {
		if id, ok := s.cookies.decode(name, c.Value); ok {
			return id, true
		}
	}
	return "", false
}

// decode parses a loaded record; ok=false when there is none, it is past its
// deadline, or it cannot be read (then it is counted as a decode error and
// treated as unknown: the session gets a new ID, so nothing overwrites it).
func (s *Store) decode(b []byte, now time.Time) (record, map[any]any, bool) {
	if b == nil {
		return record{}, nil, false
	}
	rec, err := decodeRecord(b)
	if err != nil {
		s.cfg.Metrics.failure(s.mode, "decode")
		return record{}, nil, false
	}
	if now.UnixMilli() >= rec.Deadline {
		return record{}, nil, false
	}
	values, err := decodeValues(rec.Values)
	if err != nil {
		s.cfg.Metrics.failure(s.mode, "decode")
		return record{}, nil, false
	}
	return rec, values, true
}

// Renew makes the next Save of sess give it a fresh ID and delete its old ID
// from the backend, keeping its values, creation time and deadline. Call it
// when the privilege of the session changes (login, logout), so that an ID
// known before cannot be used after.
func (s *Store) Renew(sess *sessions.Session) {
	s.states.of(sess).renew = true
}

// Ping reports whether the backend answers, for a readiness check. Its error
// wraps ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	start := time.Now()
	err := s.be.ping(ctx)
	s.cfg.Metrics.observe(s.mode, "ping", start)
	if err != nil {
		s.cfg.Metrics.failure(s.mode, "ping")
		return fmt.Errorf("%w: ping: %w", ErrUnavailable, err)
	}
	return nil
}

// Mode is "memory" or "redis".
func (s *Store) Mode() string { return s.mode }

// Close stops the store's background work (the memory sweeper) and waits for
// it. It does not close a Redis client, which belongs to the caller. Safe to
// call more than once.
func (s *Store) Close() error {
	s.stopOnce.Do(func() {
		if s.stop != nil {
			s.stop()
		}
	})
	return nil
}
