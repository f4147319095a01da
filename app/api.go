package app

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gorilla/sessions"
)

// The JSON API: the same actions as the page, for scripts. Every answer is
// the session after the request (sessionView), or {"error": "..."}.

// apiSession answers the session and counts a visit, as a page view does.
// An anonymous visitor's visits are counted in a cookie (visits.go).
func (a *App) apiSession(w http.ResponseWriter, r *http.Request) {
	s, visits, err := a.visit(w, r)
	if err != nil {
		a.failSession(w, r, err)
		return
	}
	v := a.viewOf(s)
	v.Visits = visits
	a.writeJSON(w, r, http.StatusOK, v)
}

// apiCartView answers the session as it is: it counts no visit and saves
// nothing, so it costs the store one load and no write (and no round trip at
// all on a Redis store whose cache holds the session). It is the request that
// only reads the session, beside the visit-counting GET /api/session.
func (a *App) apiCartView(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), a.storeTimeout)
	defer cancel()
	s, err := a.currentStore().New(r.WithContext(ctx), a.cookieName)
	if err != nil {
		a.failSession(w, r, fmt.Errorf("load session: %w", err))
		return
	}
	v := a.viewOf(s)
	if s.IsNew {
		v.Visits = a.cookieVisits(r)
	}
	a.writeJSON(w, r, http.StatusOK, v)
}

func (a *App) apiLogin(w http.ResponseWriter, r *http.Request) {
	user, err := jsonText(w, r, "username")
	if err != nil {
		a.failSession(w, r, err)
		return
	}
	s, err := a.update(w, r, a.login(user))
	a.answer(w, r, s, err)
}

// apiLogout takes no body; an empty JSON object is accepted too.
func (a *App) apiLogout(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &struct{}{}); err != nil {
			a.failSession(w, r, err)
			return
		}
	}
	s, err := a.update(w, r, logout)
	a.answer(w, r, s, err)
}

func (a *App) apiCart(w http.ResponseWriter, r *http.Request) {
	item, err := jsonText(w, r, "item")
	if err != nil {
		a.failSession(w, r, err)
		return
	}
	s, err := a.update(w, r, func(s *sessions.Session) error { return addToCart(s, item) })
	a.answer(w, r, s, err)
}

func (a *App) answer(w http.ResponseWriter, r *http.Request, s *sessions.Session, err error) {
	if err != nil {
		a.failSession(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, a.viewOf(s))
}

// login logs user in under a new session ID, keeping the cart and visits: a
// session ID that existed before the login (and may have been planted by an
// attacker) never carries a logged-in user.
func (a *App) login(user string) func(*sessions.Session) error {
	return func(s *sessions.Session) error {
		s.Values[keyUser] = user
		renew(s)
		return nil
	}
}

// logout ends the session: the store deletes it and the cookie expires.
func logout(s *sessions.Session) error {
	clear(s.Values)
	opts := sessions.Options{}
	if s.Options != nil {
		opts = *s.Options
	}
	opts.MaxAge = -1
	s.Options = &opts
	return nil
}
