package sessionstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// MaxCookieSize is the largest Set-Cookie a CookieStore sends, counting the
// name, the value and the attributes: 4096 bytes, the least that RFC 6265
// (section 6.1) asks browsers to keep, and what they keep at most.
const MaxCookieSize = 4096

// ErrTooLarge is wrapped into the error of CookieStore.Save when the session
// would not fit in a MaxCookieSize cookie. Nothing was sent: the client keeps
// its previous cookie, never a truncated one.
var ErrTooLarge = errors.New("sessionstore: session too large for a cookie")

// CookieStore is the stateless store: the whole session, encrypted and
// signed, is in the client's cookie, and the server keeps nothing. It is
// built on gorilla/sessions' CookieStore, whose securecookie codecs encrypt
// the value with AES-256 (CTR) and authenticate it with HMAC-SHA256; values
// go through JSON as with the other stores.
//
// Compared with Store, on purpose or by nature:
//
//   - No instance, no Redis: any instance with the keys reads any session,
//     so a user survives every instance dying.
//   - A session must fit in MaxCookieSize bytes, attributes included; a
//     Save that would pass it fails with ErrTooLarge and sends nothing.
//   - Logout expires the cookie in the browser, but a copy of the cookie
//     taken before still works until its idle timeout or lifetime ends: the
//     server has nothing to delete. That is the price of being stateless.
//   - There is no compare-and-set: of two concurrent requests, the browser
//     keeps the last cookie it receives. Save never returns ErrConflict for a
//     race, only for a session past its lifetime.
//   - The idle timeout and the lifetime are enforced from inside the value
//     (the time of the last Save and the deadline, both encrypted), never
//     from the cookie's Max-Age, which the client controls. The idle timeout
//     slides with every Save, since every Save sends the cookie again.
//
// Safe for concurrent use; a *sessions.Session is not.
//
// Trust: the cookie is attacker-controlled input, believed only when it
// decrypts and verifies under one of the keys. It reveals nothing but its
// size to the client.
type CookieStore struct {
	gorilla *sessions.CookieStore // its Codecs, newest key first
	cfg     Config
	options sessions.Options
	states  *tracker
}

var _ sessions.Store = (*CookieStore)(nil)

// cookieRecord is the JSON inside the encrypted cookie. Times are Unix
// milliseconds.
type cookieRecord struct {
	ID       string          `json:"id"`       // renewed at login; shown as a fingerprint
	Created  int64           `json:"created"`  // when the session was first saved
	Deadline int64           `json:"deadline"` // created + Lifetime
	Used     int64           `json:"used"`     // the last Save: the idle timeout counts from it
	Values   json.RawMessage `json:"values"`
}

// NewCookie returns the stateless store. keys are the same secrets as for
// NewMemory and NewRedis, newest first; older keys still decrypt, so a key
// can be rotated by putting a new one in front. From each key it derives an
// encryption key and a signing key, so the secret itself is never used for
// two purposes. Of cfg, IdleTimeout, Lifetime and Metrics apply.
func NewCookie(keys [][]byte, cfg Config) (*CookieStore, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("sessionstore: no cookie key")
	}
	pairs := make([][]byte, 0, 2*len(keys))
	for i, k := range keys {
		if len(k) == 0 {
			return nil, fmt.Errorf("sessionstore: cookie key %d of %d is empty", i+1, len(keys))
		}
		pairs = append(pairs, deriveKey(k, "hash"), deriveKey(k, "block"))
	}
	g := sessions.NewCookieStore(pairs...)
	for _, c := range g.Codecs {
		sc := c.(*securecookie.SecureCookie)
		// The record is JSON already; the size limit is checked on the
		// whole Set-Cookie by Save, not on the value alone.
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxLength(0)
		sc.MaxAge(int((cfg.Lifetime + time.Second - 1) / time.Second))
	}
	return &CookieStore{gorilla: g, cfg: cfg, options: defaultOptions(cfg.Lifetime), states: newTracker()}, nil
}

// deriveKey is HMAC-SHA256(secret, purpose): 32 bytes, AES-256 for "block".
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("stickylab cookie store " + purpose))
	return m.Sum(nil)
}

// Get returns the session called name for r, decoding it on the first call
// in a request and returning the same *sessions.Session afterwards.
func (s *CookieStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New decodes the session called name from r's cookie. Without a cookie
// that decrypts under one of the keys, or when its session is past its
// idle timeout or lifetime, it returns a new empty session. It never fails.
func (s *CookieStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess, st := s.states.start(s, name, s.options)
	result := "none"
	now := s.cfg.now()
	for _, c := range r.CookiesNamed(name) {
		var b []byte
		if err := securecookie.DecodeMulti(name, c.Value, &b, s.gorilla.Codecs...); err != nil {
			result = "unknown"
			continue
		}
		rec, values, ok := s.decode(b, now)
		if !ok {
			result = "unknown"
			continue
		}
		sess.ID, sess.Values, sess.IsNew = rec.ID, values, false
		*st = state{
			id:       rec.ID,
			version:  1,
			created:  time.UnixMilli(rec.Created),
			deadline: time.UnixMilli(rec.Deadline),
			values:   rec.Values,
		}
		result = "found"
		break
	}
	s.cfg.Metrics.load(s.Mode(), result)
	return sess, nil
}

// decode parses a decrypted record; ok=false when it cannot be read or its
// session is over at now.
func (s *CookieStore) decode(b []byte, now time.Time) (cookieRecord, map[any]any, bool) {
	var rec cookieRecord
	if err := json.Unmarshal(b, &rec); err != nil || !validID(rec.ID) {
		s.cfg.Metrics.failure(s.Mode(), "decode")
		return rec, nil, false
	}
	ms := now.UnixMilli()
	if ms >= rec.Deadline || ms >= rec.Used+s.cfg.IdleTimeout.Milliseconds() {
		return rec, nil, false
	}
	values, err := decodeValues(rec.Values)
	if err != nil {
		s.cfg.Metrics.failure(s.Mode(), "decode")
		return rec, nil, false
	}
	return rec, values, true
}

// Save sends sess in its cookie on w, encrypted and signed with the newest
// key.
//
//   - A new session without values gets no cookie.
//   - Every other Save sends the cookie again, with the time of this Save
//     inside: that is what slides the idle timeout.
//   - After Renew, the session gets a fresh ID; a copy of the old cookie
//     still holds the old values, never the new ones.
//   - sess.Options.MaxAge < 0 expires the cookie and empties sess.Values.
//     A copy of the cookie taken before still works (see CookieStore).
//   - A cookie that would pass MaxCookieSize is not sent: the error wraps
//     ErrTooLarge.
//
// A positive MaxAge is shortened so the cookie ends with the session's
// deadline.
func (s *CookieStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	st := s.states.of(sess)
	opts := s.options
	if sess.Options != nil {
		opts = *sess.Options
	}
	if opts.MaxAge < 0 {
		*st = state{}
		sess.ID, sess.IsNew = "", true
		clear(sess.Values)
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", &opts))
		s.cfg.Metrics.save(s.Mode(), "deleted")
		return nil
	}
	values, err := encodeValues(sess.Values)
	if err != nil {
		return err
	}
	if st.version == 0 && len(sess.Values) == 0 {
		s.cfg.Metrics.save(s.Mode(), "empty")
		return nil
	}
	now := s.cfg.now()
	created, deadline, id := st.created, st.deadline, st.id
	if st.version == 0 {
		created, deadline = now, now.Add(s.cfg.Lifetime)
	}
	if !now.Before(deadline) {
		s.cfg.Metrics.conflict(s.Mode())
		return ErrConflict
	}
	if st.version == 0 || st.renew {
		id = newID()
	}
	b, err := json.Marshal(cookieRecord{
		ID: id, Created: created.UnixMilli(), Deadline: deadline.UnixMilli(), Used: now.UnixMilli(), Values: values,
	})
	if err != nil {
		return fmt.Errorf("sessionstore: encode cookie record: %w", err)
	}
	v, err := securecookie.EncodeMulti(sess.Name(), b, s.gorilla.Codecs...)
	if err != nil {
		return fmt.Errorf("sessionstore: encrypt cookie: %w", err)
	}
	if opts.MaxAge > 0 {
		opts.MaxAge = max(1, min(opts.MaxAge, int(deadline.Sub(now)/time.Second)))
	}
	c := sessions.NewCookie(sess.Name(), v, &opts)
	if n := len(c.String()); n > MaxCookieSize {
		s.cfg.Metrics.failure(s.Mode(), "too_large")
		return fmt.Errorf("%w: %d bytes, over %d", ErrTooLarge, n, MaxCookieSize)
	}
	http.SetCookie(w, c)
	result := "written"
	if st.renew && st.version > 0 {
		result = "renewed"
	}
	s.cfg.Metrics.save(s.Mode(), result)
	*st = state{id: id, version: 1, created: created, deadline: deadline, values: values}
	sess.ID, sess.IsNew = id, false
	return nil
}

// Renew makes the next Save of sess give it a fresh ID. Call it when the
// privilege of the session changes (login, logout).
func (s *CookieStore) Renew(sess *sessions.Session) {
	s.states.of(sess).renew = true
}

// Ping always succeeds: there is no backend to fail.
func (s *CookieStore) Ping(context.Context) error { return nil }

// Mode is "cookie".
func (s *CookieStore) Mode() string { return "cookie" }

// Close does nothing; it is there so that every store closes alike.
func (s *CookieStore) Close() error { return nil }
