// Package sessionstore provides gorilla/sessions stores that keep session
// data on the server: in this process's memory (NewMemory) or in Redis
// (NewRedis), behind one Store type that implements sessions.Store.
//
// # Design
//
// Store holds everything about cookies and sessions: the signed cookie,
// IDs, strict mode, change detection, renewal, versions and metrics. Under it
// a small backend interface with two implementations, memory.go and
// redis.go, only loads, writes (with compare-and-set on a version) and
// removes records.
//
//   - The cookie holds only a random 256-bit ID (crypto/rand), signed with
//     HMAC-SHA256 by gorilla/securecookie under the newest of several keys;
//     older keys still verify, so keys can be rotated.
//   - Strict mode: an ID the backend does not know (expired, deleted, forged,
//     issued by another store) yields a new session that gets a fresh ID when
//     saved. A client-chosen ID is never adopted, so session fixation fails.
//   - Data is JSON with string keys, readable with redis-cli GET, under
//     "stickylab:session:" + hex(SHA-256(ID)): a copy of Redis cannot be
//     replayed as cookies.
//   - A sliding idle timeout (the Redis TTL, never longer than
//     min(idle, deadline-now)) and an absolute lifetime (a deadline stored
//     with the data) are both enforced by the store on load.
//   - A load is one Redis round trip, which also slides the TTL. Saving
//     unchanged values writes nothing; changed values are written once, with
//     one more round trip.
//   - No lost updates: every write is a compare-and-set on the version that
//     was loaded (a Lua script; the memory store does the same under its
//     mutex). A lost race is ErrConflict: reload with New, re-apply, save.
//   - Renew gives the session a new ID at the next Save and deletes the old
//     one (login, logout).
//   - A failing backend is an error wrapping ErrUnavailable, never an empty
//     session that a later Save would write over the real one.
//   - The memory store sweeps expired sessions (stopped by Close) and caps
//     their number, evicting the oldest first in O(1).
//   - Counts and latencies go to Prometheus through Metrics.
//
// # Compared with the gorilla Redis stores
//
// rbcervilla/redisstore and boj/redistore, the usual choices, differ on each
// point:
//
//   - They adopt the ID of any cookie that verifies, even for a session Redis
//     no longer has (rbcervilla/redisstore saves under it: session fixation);
//     here an unknown ID always gives a fresh one.
//   - They key Redis by the raw ID, so a Redis dump is a set of live cookies;
//     here the key is a SHA-256 of the ID.
//   - They store gob (or a custom serializer) that redis-cli shows as binary;
//     here it is JSON.
//   - They rewrite the whole session on every Save; here an unchanged session
//     costs no write.
//   - Last writer wins: two concurrent requests silently drop one update;
//     here the loser gets ErrConflict and re-applies its change.
//   - They have no ID renewal that deletes the old ID, no absolute lifetime
//     apart from the cookie's, and no metrics.
//   - A Redis error during load gives the caller a new empty session, which
//     the usual error-ignoring handler then saves; here Save refuses it.
//
// # Values
//
// Session values have string keys and are stored as JSON, so they come back
// as encoding/json decodes them: numbers as float64, arrays as []any,
// objects as map[string]any. Store values that survive that (strings,
// numbers, bools, slices and maps of them). A non-string key makes Save fail.
//
// # Concurrency
//
// Store is safe for concurrent use. A *sessions.Session is not; use it from
// the goroutine that handles the request.
package sessionstore
