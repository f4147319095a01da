package sessionstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewRedis returns a store that keeps sessions in Redis through client (a
// single server, Sentinel or Cluster; see NewRedisClient), so that every
// instance sharing the Redis and the keys sees the same sessions. The
// client stays the caller's: Close does not close it.
//
// Each session is one string key, KeyPrefix + hex(SHA-256(ID)), holding the
// JSON record (readable with redis-cli GET), with a TTL of
// min(IdleTimeout+IdleGrace, deadline-now) that the record repeats as its
// expires. A load is a plain GET (one round trip, none when Config.Cache
// holds the session), plus a touch (a compare-and-set of the same record
// with a later expires) when less than IdleTimeout is left of it, at most
// once per IdleGrace. A save of changed values is one round trip (a
// compare-and-set script, never a read before it), a save of unchanged
// values none; renewal costs two (write the new key, then delete the old
// one if nobody changed it). Every command touches one key, so Cluster is
// fine.
//
// keys sign the cookie, newest first, as for NewMemory. With
// Config.MigrateFrom, a session Redis lacks is moved from that store.
func NewRedis(client redis.UniversalClient, keys [][]byte, cfg Config) (*Store, error) {
	if client == nil {
		return nil, errors.New("sessionstore: nil redis client")
	}
	s, err := newStore("redis", keys, cfg)
	if err != nil {
		return nil, err
	}
	b := &redisBackend{
		client:       client,
		prefix:       s.cfg.KeyPrefix,
		idle:         s.cfg.IdleTimeout,
		expiry:       s.cfg.expiry,
		count:        func(result string) { s.cfg.Metrics.cacheLookup(s.mode, result) },
		touched:      func() { s.cfg.Metrics.touch(s.mode) },
		trip:         func() { s.cfg.Metrics.roundTrip(s.mode) },
		writeScript:  redis.NewScript(writeScriptSrc),
		removeScript: redis.NewScript(removeScriptSrc),
	}
	if s.cfg.Cache != nil {
		c := newCache(s.cfg.Cache.MaxEntries)
		b.tc = newTrackConn(client, c, s.cfg, cacheCounts{
			invalidated: func(n int) { s.cfg.Metrics.invalidate(s.mode, n) },
			reset:       func() { s.cfg.Metrics.cacheReset(s.mode) },
		})
		if b.tc == nil {
			s.cfg.Logger.Warn("session cache off: it needs a single Redis server's client, not Sentinel's or Cluster's; every load goes to Redis")
		} else {
			b.tc.start()
			s.stop = b.tc.close
		}
	}
	s.be = b
	if old := s.cfg.MigrateFrom; old != nil {
		s.be = &migrating{to: s.be, from: old.be, expiry: s.cfg.expiry, moved: func() { s.cfg.Metrics.load(s.mode, "migrated") }}
	}
	return s, nil
}

// redisBackend keeps each record under its own key. The scripts find the
// version with an anchored pattern on the start of the record, whose field
// order codec.go fixes, so they need neither cjson nor a second key;
// string.match exists in Redis and in miniredis. With a cache, loads and
// writes go through its connection (trackConn) while it is up, and through
// client otherwise.
type redisBackend struct {
	client  redis.UniversalClient
	prefix  string
	idle    time.Duration
	expiry  func(deadline, now time.Time) time.Time // Config.expiry
	tc      *trackConn                              // nil: no cache
	count   func(result string)                     // a cache lookup: hit, miss, off
	touched func()                                  // a load extended the idle expiry
	trip    func()                                  // a command sent to Redis, its answer awaited

	writeScript, removeScript *redis.Script
}

var _ backend = (*redisBackend)(nil)

// writeScriptSrc sets the record if the stored version is still the expected
// one (0: no key), or whatever is stored when the expected version is "*"
// (Config.LastWriterWins). Returns 1 when written, 0 when not. With
// ARGV[4] "track" (the cache's connection, trackconn.go), it reads the key
// again after setting it, so that the key stays tracked and Redis tells
// that connection when another changes it (a write drops the key from
// Redis's tracking table). The read is an EXISTS: any read-only command
// on the key tracks it, and EXISTS does not copy the record into Lua as a
// GET would.
// KEYS[1] key; ARGV[1] expected version; ARGV[2] record; ARGV[3] TTL (ms);
// ARGV[4] "track" or "".
const writeScriptSrc = `
if ARGV[1] ~= '*' then
	local cur = redis.call('GET', KEYS[1])
	local have = '0'
	if cur then have = string.match(cur, '^{"version":(%d+),') or 'none' end
	if have ~= ARGV[1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if ARGV[4] == 'track' then redis.call('EXISTS', KEYS[1]) end
return 1
`

// removeScriptSrc deletes the key if its version is the expected one.
// Returns 1 when deleted, 0 when not. KEYS[1] key; ARGV[1] expected version.
const removeScriptSrc = `
local cur = redis.call('GET', KEYS[1])
if not cur or string.match(cur, '^{"version":(%d+),') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`

// key is the Redis key of id: the ID itself never reaches Redis.
func (b *redisBackend) key(id string) string { return b.prefix + hashID(id) }

// load returns the record of id, nil when there is none or its idle
// expiry or deadline has passed, and touches it when less than IdleTimeout
// is left of its idle expiry.
func (b *redisBackend) load(ctx context.Context, id string, now time.Time) ([]byte, error) {
	key := b.key(id)
	v, err := b.get(ctx, key)
	if err != nil || v == nil {
		return nil, err
	}
	_, deadline, expires, ok := recordHeader(v)
	if !ok {
		return v, nil // not ours: Store.decode counts it
	}
	ms := now.UnixMilli()
	if ms >= deadline || (expires != 0 && ms >= expires) {
		return nil, nil // Redis drops the key with its TTL
	}
	if expires-ms >= b.idle.Milliseconds() {
		return v, nil
	}
	rec, err := decodeRecord(v)
	if err != nil {
		return v, nil
	}
	exp := b.expiry(time.UnixMilli(rec.Deadline), now)
	touched, err := rec.withExpires(exp)
	if err != nil {
		return nil, err
	}
	ok, err = b.put(ctx, key, strconv.FormatUint(rec.Version, 10), touched, exp.Sub(now))
	if err != nil {
		return nil, err
	}
	if !ok {
		return v, nil // changed meanwhile: a Save of this copy will conflict
	}
	b.touched()
	return touched, nil
}

// get reads key: from the cache when it holds it and may serve, else from
// Redis, through the cache's connection (which caches the answer) while it
// is up.
func (b *redisBackend) get(ctx context.Context, key string) ([]byte, error) {
	if b.tc != nil {
		if !b.tc.serving() {
			b.count("off")
		} else if v, ok := b.tc.cache.get(key); ok {
			b.count("hit")
			return v, nil
		} else {
			b.count("miss")
		}
		b.trip()
		v, err := b.tc.do(ctx, func(v any, err error) {
			if rec, ok := v.([]byte); ok && err == nil {
				b.tc.cache.put(key, rec)
			}
		}, "GET", key)
		// A read is safe to send again when the connection failed.
		if !errors.Is(err, errConnDown) && !errors.Is(err, errConnLost) {
			rec, _ := v.([]byte)
			return rec, err
		}
	} else {
		b.trip()
	}
	v, err := b.client.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return v, err
}

func (b *redisBackend) write(ctx context.Context, id string, prev uint64, force bool, rec []byte, _ int, deadline, now time.Time) (bool, error) {
	ttl := b.expiry(deadline, now).Sub(now)
	if ttl < time.Millisecond {
		return false, nil
	}
	expect := strconv.FormatUint(prev, 10)
	if force {
		expect = "*"
	}
	return b.put(ctx, b.key(id), expect, rec, ttl)
}

// put runs the compare-and-set script: rec under key if its version is
// expect. Through the cache's connection, the cache then holds rec, or
// nothing for key when the script did not write.
func (b *redisBackend) put(ctx context.Context, key, expect string, rec []byte, ttl time.Duration) (bool, error) {
	ms := strconv.FormatInt(ttl.Milliseconds(), 10)
	b.trip()
	if b.tc != nil {
		v, err := b.tc.eval(ctx, func(v any, err error) {
			if n, ok := v.(int64); ok && n == 1 && err == nil {
				b.tc.cache.put(key, rec)
			} else {
				b.tc.cache.drop(key)
			}
		}, b.writeScript, writeScriptSrc, key, expect, string(rec), ms, "track")
		if !errors.Is(err, errConnDown) {
			n, _ := v.(int64)
			return n == 1, err
		}
	}
	n, err := b.writeScript.Run(ctx, b.client, []string{key}, expect, rec, ms, "").Int()
	return n == 1, err
}

func (b *redisBackend) remove(ctx context.Context, id string, prev uint64) (bool, error) {
	key := b.key(id)
	b.trip()
	if b.tc != nil {
		drop := func(any, error) { b.tc.cache.drop(key) }
		var (
			v   any
			err error
		)
		if prev == 0 {
			v, err = b.tc.do(ctx, drop, "DEL", key)
		} else {
			v, err = b.tc.eval(ctx, drop, b.removeScript, removeScriptSrc, key, strconv.FormatUint(prev, 10))
		}
		if !errors.Is(err, errConnDown) {
			n, _ := v.(int64)
			return n == 1, err
		}
	}
	if prev == 0 {
		n, err := b.client.Del(ctx, key).Result()
		return n == 1, err
	}
	n, err := b.removeScript.Run(ctx, b.client, []string{key}, strconv.FormatUint(prev, 10)).Int()
	return n == 1, err
}

func (b *redisBackend) ping(ctx context.Context) error {
	return b.client.Ping(ctx).Err()
}
