package app

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/sessions"

	"stickylab/sessionstore"
)

// Anonymous visits cost the server nothing. A session is stored only once it
// holds something worth keeping (a login, a cart item): until then, the
// visitor's visits are counted in a cookie of their own (the session cookie's
// name + "_visits", a plain number), so that a flood of cookie-less requests
// creates no session in memory or Redis and cannot evict anyone. When the
// session is first stored (login, first cart item), it takes over the count
// and the visits cookie is expired. This is what express-session's
// saveUninitialized: false, Django and Rails do: an empty session is never
// saved.
//
// The visits cookie is not signed: it is the visitor's own counter, carries
// no privilege, and a value that is not a small number counts as 0.

// maxVisits bounds a visit count read from a cookie.
const maxVisits = 1_000_000_000

// worthKeeping reports whether s holds something a user would miss: a login
// or a cart item. Only such sessions are stored.
func worthKeeping(s *sessions.Session) bool {
	return sessionUser(s) != "" || len(sessionCart(s)) > 0
}

// SessionRank is the sessionstore.Config.Rank of the app's sessions: a
// logged-in user (2) is kept over a cart without a login (1), which is kept
// over anything else (0), when a full memory store must evict one.
func SessionRank(values map[any]any) int {
	s := &sessions.Session{Values: values}
	switch {
	case sessionUser(s) != "":
		return 2
	case len(sessionCart(s)) > 0:
		return 1
	}
	return 0
}

// visit counts one visit of r and returns the session and the count to show.
// A session that is stored, or becomes worth keeping, counts it in the
// store; an anonymous visitor's count goes to their visits cookie.
func (a *App) visit(w http.ResponseWriter, r *http.Request) (*sessions.Session, int, error) {
	anonymous := 0
	s, err := a.update(w, r, func(s *sessions.Session) error {
		if s.IsNew && !worthKeeping(s) {
			anonymous = min(a.cookieVisits(r)+1, maxVisits)
			return nil
		}
		anonymous = 0
		countVisit(s)
		return nil
	})
	if errors.Is(err, sessionstore.ErrTooLarge) {
		// A cookie-store session at the size limit: one more digit in the
		// count would not fit. Show it as it is rather than refuse the page;
		// the visit is not counted.
		s, err = a.update(w, r, func(*sessions.Session) error { return nil })
	}
	if err != nil {
		return nil, 0, err
	}
	if anonymous > 0 {
		http.SetCookie(w, a.visitsCookie(r, strconv.Itoa(anonymous), 0))
		return s, anonymous, nil
	}
	return s, sessionVisits(s), nil
}

// adoptVisits moves the visits counted in r's visits cookie into s when s is
// about to be stored for the first time.
func (a *App) adoptVisits(r *http.Request, s *sessions.Session) {
	if s.IsNew && worthKeeping(s) {
		if n := a.cookieVisits(r); n > 0 {
			s.Values[keyVisits] = sessionVisits(s) + n
		}
	}
}

// dropVisitsCookie expires r's visits cookie once s is stored and counts the
// visits itself.
func (a *App) dropVisitsCookie(w http.ResponseWriter, r *http.Request, s *sessions.Session) {
	if s.ID == "" {
		return
	}
	if _, err := r.Cookie(a.visitsCookieName()); err == nil {
		http.SetCookie(w, a.visitsCookie(r, "", -1))
	}
}

func (a *App) visitsCookieName() string { return a.cookieName + "_visits" }

// cookieVisits is the count in r's visits cookie; 0 when it is missing or
// not a number from 0 to maxVisits.
func (a *App) cookieVisits(r *http.Request) int {
	c, err := r.Cookie(a.visitsCookieName())
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(c.Value)
	if err != nil || n < 0 || n > maxVisits {
		return 0
	}
	return n
}

// visitsCookie is the visits cookie with value; it lasts as long as the
// browser session (maxAge 0), or is expired (maxAge < 0). Its attributes are
// those of the session cookie.
func (a *App) visitsCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     a.visitsCookieName(),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   overHTTPS(r),
	}
}
