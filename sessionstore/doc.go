// Package sessionstore provides gorilla/sessions stores that keep session
// data on the server: in this process's memory (NewMemory) or in Redis
// (NewRedis), behind one Store type that implements sessions.Store. A third
// store, CookieStore (NewCookie), keeps the whole session, encrypted and
// signed, in the client's cookie instead: no server state, at the cost of a
// size limit (MaxCookieSize), of a logout that cannot revoke a copied
// cookie, and of compare-and-set; its doc comment says what differs.
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
//   - A sliding idle timeout and an absolute lifetime (a deadline stored
//     with the data) are both enforced by the store on load. In Redis the
//     idle expiry is the key's TTL and the record's expires, extended by a
//     load only when less than IdleTimeout is left of it (Config.IdleGrace),
//     so that a load is a plain GET that writes nothing most of the time.
//   - A load is one Redis round trip, or none with Config.Cache when this
//     process holds a valid copy: its own connection with CLIENT TRACKING
//     hears of every change another instance makes, and MaxStale bounds
//     how old a served copy can be (CacheConfig states the guarantee).
//     Saving unchanged values writes nothing; changed values are written
//     once, with one round trip (the compare-and-set), never a read before
//     it.
//   - No lost updates: every write is a compare-and-set on the version that
//     was loaded (a Lua script; the memory store does the same under its
//     mutex). A lost race is ErrConflict: reload with New, re-apply, save.
//     Config.LastWriterWins turns it off, for the lesson on lost updates.
//   - Config.MigrateFrom moves a session a Redis store lacks from a memory
//     store on its first load, so a move to Redis logs nobody out.
//   - Renew gives the session a new ID at the next Save and deletes the old
//     one (login, logout).
//   - A failing backend is an error wrapping ErrUnavailable, never an empty
//     session that a later Save would write over the real one.
//   - The memory store sweeps expired sessions (stopped by Close) and caps
//     their number: past the cap it evicts, in O(1), the least recently
//     used session of the lowest rank (Config.Rank), so that a flood of
//     sessions that hold little cannot push out ones that hold more.
//   - Save stores a new session only when it has values: an application
//     that puts nothing in the session of an anonymous visitor (as the
//     stickylab app does until a login or a cart item) costs no
//     server-side state per cookie-less request.
//   - Counts and latencies go to Prometheus through Metrics.
//
// # Compared with the gorilla Redis stores
//
// rbcervilla/redisstore and boj/redistore, the usual choices, fall short on
// each point:
//
//   - Fixation. rbcervilla/redisstore takes the raw, unsigned cookie value as
//     the session ID and saves under it, so a client picks its own ID;
//     boj/redistore signs the ID but stores again under a verified ID that
//     Redis no longer has. Neither renews the ID at login, so a cookie planted
//     before login is logged in afterwards. Here an unknown ID always gives a
//     fresh one, and Renew replaces it and deletes the old one.
//   - Keys. They key Redis by the ID itself (rbcervilla/redisstore's key is
//     the cookie value: a dump of Redis is a set of live cookies); here the
//     key is a SHA-256 of the ID.
//   - Format. They store gob, which redis-cli shows as binary; here it is
//     JSON.
//   - Writes. They rewrite the whole session on every Save; here an unchanged
//     session costs no write and its load costs one round trip.
//   - Lost updates. Last writer wins, so of two concurrent requests one
//     update silently disappears; here the loser gets ErrConflict and
//     re-applies its change.
//   - Expiry. The Redis TTL is the cookie's MaxAge (30 days by default):
//     there is no sliding idle timeout and no absolute lifetime; here both
//     are enforced on load.
//   - Failures. When Redis fails during a load, they return a session that
//     still carries the cookie's ID along with the error; a handler that
//     ignores the error and saves writes an empty session over the real one.
//     Here the session returned with the error cannot be saved.
//   - They have no metrics and no readiness check; here there are Metrics and
//     Ping.
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
