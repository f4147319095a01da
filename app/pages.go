package app

import (
	"net/http"
	"time"

	"github.com/gorilla/sessions"
)

// The HTML side: the page and its forms. Every form posts, then redirects
// to the page (303, post/redirect/get) so that reloading does not post again.
// Errors are shown on an error page with a link back.

// page shows the session and counts a visit: every page view counts one,
// like every GET /api/session (an anonymous visitor's in a cookie: visits.go).
func (a *App) page(w http.ResponseWriter, r *http.Request) {
	s, visits, err := a.visit(w, r)
	if err != nil {
		a.failSession(w, r, err)
		return
	}
	var balancer *stripView
	if st, ok := parseStickiness(r.Header.Get(stickinessHeader)); ok {
		balancer = newStripView(st, time.Now())
	}
	view := a.viewOf(s)
	view.Visits = visits
	a.views.renderPage(w, a.log, r, pageData{
		Balancer:    balancer,
		Session:     view,
		Stored:      s.ID != "",
		Shared:      a.currentStore().Mode() != "memory",
		Fingerprint: fingerprint(s),
		MaxLen:      maxTextLen,
	})
}

func (a *App) formLogin(w http.ResponseWriter, r *http.Request) {
	user, err := formText(w, r, "username")
	if err == nil {
		_, err = a.update(w, r, a.login(user))
	}
	a.redirectHome(w, r, err)
}

func (a *App) formLogout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes) // the form has no fields
	_, err := a.update(w, r, logout)
	a.redirectHome(w, r, err)
}

func (a *App) formCart(w http.ResponseWriter, r *http.Request) {
	item, err := formText(w, r, "item")
	if err == nil {
		_, err = a.update(w, r, func(s *sessions.Session) error { return addToCart(s, item) })
	}
	a.redirectHome(w, r, err)
}

func (a *App) redirectHome(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		a.failSession(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
