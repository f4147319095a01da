package sessionstore

import (
	"runtime"
	"sync"
	"time"
	"weak"

	"github.com/gorilla/sessions"
)

// state is what the store remembers about a *sessions.Session between New
// and Save: which stored version it was loaded from, the bytes of its values
// at that time (to see whether anything changed) and whether the next Save
// must renew its ID. A Session has no room for it, and hiding it in
// Session.Values would not survive an app that clears or replaces the map.
type state struct {
	id       string    // the stored ID; "" until the session is first written
	version  uint64    // stored version the session was loaded from; 0: not stored
	created  time.Time // zero until the session is first written
	deadline time.Time // created + Lifetime
	values   []byte    // JSON of the values as loaded
	renew    bool      // the next Save gives the session a new ID
	failed   error     // the load failed: Save must not write over the stored session
}

// tracker maps sessions to their state without keeping them alive: the entry
// of a session goes away when the garbage collector frees the session, so a
// handler that never saves leaks nothing.
type tracker struct {
	mu sync.Mutex // protects m
	m  map[weak.Pointer[sessions.Session]]*state
}

func newTracker() *tracker {
	return &tracker{m: make(map[weak.Pointer[sessions.Session]]*state)}
}

// put records st for sess.
func (t *tracker) put(sess *sessions.Session, st *state) {
	wp := weak.Make(sess)
	t.mu.Lock()
	_, had := t.m[wp]
	t.m[wp] = st
	t.mu.Unlock()
	if !had {
		runtime.AddCleanup(sess, t.forget, wp)
	}
}

// get returns the state of sess, or nil for a session this store did not
// make (sessions.NewSession called directly).
func (t *tracker) get(sess *sessions.Session) *state {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[weak.Make(sess)]
}

// start returns a new session called name of store, with a copy of opts,
// and its recorded empty state.
func (t *tracker) start(store sessions.Store, name string, opts sessions.Options) (*sessions.Session, *state) {
	sess := sessions.NewSession(store, name)
	sess.Options = &opts
	sess.IsNew = true
	st := &state{}
	t.put(sess, st)
	return sess, st
}

// of returns the state of sess, recording an empty one for a session the
// store did not make (sessions.NewSession called directly), which is then
// saved as a new session, never under the ID it carries.
func (t *tracker) of(sess *sessions.Session) *state {
	if st := t.get(sess); st != nil {
		return st
	}
	st := &state{}
	t.put(sess, st)
	return st
}

func (t *tracker) forget(wp weak.Pointer[sessions.Session]) {
	t.mu.Lock()
	delete(t.m, wp)
	t.mu.Unlock()
}

// len is the number of tracked sessions, for tests.
func (t *tracker) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
