package app

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"stickylab/sessionstore"
)

// maxSaveAttempts bounds how often update re-applies a change that lost a
// compare-and-set race against another instance. With the jittered backoff
// between attempts (at most 2ms, 4ms, ... 128ms), giving up takes at most
// about a quarter of a second, and only under sustained contention.
const maxSaveAttempts = 8

// update loads the session of r, applies change to it and saves it. When the
// save loses a race (sessionstore.ErrConflict: another request changed the
// session since the load), it loads the session again and re-applies change,
// up to maxSaveAttempts times in all, so that concurrent changes add up
// instead of overwriting each other. change may run several times and must
// only change the session it is given; an error from it aborts the update
// with nothing saved.
//
// Requests of one session are serialised within this instance (unless
// Config.NoSessionLock), so conflicts only arise between instances. The whole update, waiting included, is
// bounded by the store timeout.
func (a *App) update(w http.ResponseWriter, r *http.Request, change func(*sessions.Session) error) (*sessions.Session, error) {
	ctx, cancel := context.WithTimeout(r.Context(), a.storeTimeout)
	defer cancel()
	r = r.WithContext(ctx)

	var key string
	if c, err := r.Cookie(a.cookieName); err == nil {
		key = c.Value
	}
	unlock, err := a.locks.lock(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("wait for session lock: %w", err)
	}
	defer unlock()

	// One store for the whole update, even if an in-place switch happens
	// meanwhile: a session is saved by the store that loaded it.
	store := a.currentStore()
	for attempt := 1; ; attempt++ {
		s, err := store.New(r, a.cookieName)
		if err != nil {
			return nil, fmt.Errorf("load session: %w", err)
		}
		if err := change(s); err != nil {
			return nil, err
		}
		a.adoptVisits(r, s)
		setCookieOptions(r, s)
		err = store.Save(r, w, s)
		if err == nil {
			a.dropVisitsCookie(w, r, s)
			return s, nil
		}
		if !errors.Is(err, sessionstore.ErrConflict) || attempt == maxSaveAttempts {
			return nil, fmt.Errorf("save session (attempt %d): %w", attempt, err)
		}
		// Full jitter, so that instances that collided do not collide again.
		backoff := rand.N(time.Millisecond << attempt)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("save session (attempt %d): %w", attempt, ctx.Err())
		}
	}
}

// setCookieOptions makes the session cookie HttpOnly and SameSite=Lax, and
// Secure when the request came over HTTPS: directly, or through a proxy that
// says so in X-Forwarded-Proto. The header is trusted from anyone because it
// can only make the cookie stricter: a client that fakes it loses its own
// session cookie over plain HTTP, nothing more.
func setCookieOptions(r *http.Request, s *sessions.Session) {
	opts := sessions.Options{Path: "/"}
	if s.Options != nil {
		opts = *s.Options
	}
	opts.HttpOnly = true
	opts.SameSite = http.SameSiteLaxMode
	opts.Secure = overHTTPS(r)
	s.Options = &opts
}

// overHTTPS reports whether the client used HTTPS: directly, or through a
// proxy that says so in X-Forwarded-Proto.
func overHTTPS(r *http.Request) bool {
	return r.TLS != nil || forwardedHTTPS(r.Header.Get("X-Forwarded-Proto"))
}

// forwardedHTTPS reports whether an X-Forwarded-Proto value names https for
// the client's hop: the first of a comma-separated list that proxies grew.
func forwardedHTTPS(v string) bool {
	first, _, _ := strings.Cut(v, ",")
	return strings.EqualFold(strings.TrimSpace(first), "https")
}

// sessionLocks serialises the requests of one session within an instance, so
// that a browser's parallel requests wait for each other instead of retrying
// lost compare-and-set races. It is striped: a fixed set of one-slot
// semaphores picked by a hash of the cookie value, so it needs no cleanup and
// its size does not grow with the number of sessions. Two sessions that share
// a stripe only wait for each other briefly. The hash is seeded per process,
// so a client cannot pick cookie values that land on someone else's stripe.
type sessionLocks struct {
	seed    maphash.Seed
	stripes [256]chan struct{}
}

func newSessionLocks() *sessionLocks {
	l := &sessionLocks{seed: maphash.MakeSeed()}
	for i := range l.stripes {
		l.stripes[i] = make(chan struct{}, 1)
	}
	return l
}

// lock waits for the stripe of key, or until ctx ends. An empty key (no
// cookie yet: a session that nobody else can be using) needs no lock, and
// nil locks (Config.NoSessionLock) lock nothing.
func (l *sessionLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	if key == "" || l == nil {
		return func() {}, nil
	}
	stripe := l.stripes[maphash.String(l.seed, key)%uint64(len(l.stripes))]
	select {
	case stripe <- struct{}{}:
		return func() { <-stripe }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
