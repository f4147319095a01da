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
// min(IdleTimeout, deadline-now) refreshed by every load. A load is one
// round trip (a script that reads the value and slides the TTL), a save of
// changed values one more (a compare-and-set script), a save of unchanged
// values none; renewal costs two (write the new key, then delete the old one
// if nobody changed it). Every script touches one key, so Cluster is fine.
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
	s.be = &redisBackend{
		client:       client,
		prefix:       s.cfg.KeyPrefix,
		idle:         s.cfg.IdleTimeout,
		loadScript:   redis.NewScript(loadScriptSrc),
		writeScript:  redis.NewScript(writeScriptSrc),
		removeScript: redis.NewScript(removeScriptSrc),
	}
	if old := s.cfg.MigrateFrom; old != nil {
		s.be = &migrating{to: s.be, from: old.be, moved: func() { s.cfg.Metrics.load(s.mode, "migrated") }}
	}
	return s, nil
}

// redisBackend keeps each record under its own key. The scripts find the
// version and deadline with an anchored pattern on the start of the record,
// whose field order codec.go fixes, so they need neither cjson nor a second
// key; string.match and string.format exist in Redis and in miniredis. They
// never pass nil to tonumber: miniredis's Lua raises an error where Redis's
// returns nil.
type redisBackend struct {
	client redis.UniversalClient
	prefix string
	idle   time.Duration

	loadScript, writeScript, removeScript *redis.Script
}

var _ backend = (*redisBackend)(nil)

// loadScriptSrc returns the record and slides its TTL to min(idle, deadline-now);
// a record past its deadline is deleted and reported as missing.
// KEYS[1] key; ARGV[1] now (Unix ms); ARGV[2] idle (ms).
const loadScriptSrc = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
local ttl = tonumber(ARGV[2])
local deadline = string.match(v, '^{"version":%d+,"created":%-?%d+,"deadline":(%-?%d+),')
if deadline then
	local left = tonumber(deadline) - tonumber(ARGV[1])
	if left < ttl then ttl = left end
end
if ttl <= 0 then
	redis.call('DEL', KEYS[1])
	return false
end
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
return v
`

// writeScriptSrc sets the record if the stored version is still the expected
// one (0: no key), or whatever is stored when the expected version is "*"
// (Config.LastWriterWins). Returns 1 when written, 0 when not.
// KEYS[1] key; ARGV[1] expected version; ARGV[2] record; ARGV[3] TTL (ms).
const writeScriptSrc = `
if ARGV[1] ~= '*' then
	local cur = redis.call('GET', KEYS[1])
	local have = '0'
	if cur then have = string.match(cur, '^{"version":(%d+),') or 'none' end
	if have ~= ARGV[1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
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

func (b *redisBackend) load(ctx context.Context, id string, now time.Time) ([]byte, error) {
	v, err := b.loadScript.Run(ctx, b.client, []string{b.key(id)}, now.UnixMilli(), b.idle.Milliseconds()).Text()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []byte(v), nil
}

func (b *redisBackend) write(ctx context.Context, id string, prev uint64, force bool, rec []byte, _ int, deadline, now time.Time) (bool, error) {
	ttl := min(b.idle, deadline.Sub(now))
	if ttl < time.Millisecond {
		return false, nil
	}
	expect := strconv.FormatUint(prev, 10)
	if force {
		expect = "*"
	}
	n, err := b.writeScript.Run(ctx, b.client, []string{b.key(id)}, expect, rec, ttl.Milliseconds()).Int()
	return n == 1, err
}

func (b *redisBackend) remove(ctx context.Context, id string, prev uint64) (bool, error) {
	if prev == 0 {
		n, err := b.client.Del(ctx, b.key(id)).Result()
		return n == 1, err
	}
	n, err := b.removeScript.Run(ctx, b.client, []string{b.key(id)}, strconv.FormatUint(prev, 10)).Int()
	return n == 1, err
}

func (b *redisBackend) ping(ctx context.Context) error {
	return b.client.Ping(ctx).Err()
}
