package app

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/sessions"

	"stickylab/sessionstore"
)

// newCookieStore returns a cookie store with the tests' keys.
func newCookieStore(t *testing.T) *sessionstore.CookieStore {
	t.Helper()
	s, err := sessionstore.NewCookie(testKeys, sessionstore.Config{})
	if err != nil {
		t.Fatalf("NewCookie: %v", err)
	}
	return s
}

// TestCookieStoreFlood floods an instance on the cookie store: nothing can
// be stored server-side, and every answer sets only the small visits cookie
// (flood checks both).
func TestCookieStoreFlood(t *testing.T) {
	flood(t, newCookieStore(t), floodRequests)
}

// TestCookieStoreSizeLimit fills a cart of 64-character items until the
// session no longer fits in a cookie: the refusal is a 409 that says so, on
// the API and on the page, it sets no session cookie, and the cart keeps
// what fitted. Every session cookie sent before fits in 4096 bytes.
func TestCookieStoreSizeLimit(t *testing.T) {
	srv := serve(t, "app-1", newCookieStore(t))
	c := newClient(t)
	c.postJSON(srv.URL+"/api/login", `{"username":"ada"}`, http.StatusOK)
	item := strings.Repeat("x", maxTextLen)
	var fitted int
	for fitted = 0; fitted < maxCartItems; fitted++ {
		r := c.do(http.MethodPost, srv.URL+"/api/cart", "application/json", `{"item":"`+item+`"}`)
		if r.status == http.StatusConflict {
			if got := errorBody(t, r); got != msgTooLarge {
				t.Errorf("refusal: got error %q, want %q", got, msgTooLarge)
			}
			if got := r.header.Values("Set-Cookie"); len(got) != 0 {
				t.Errorf("refusal: got Set-Cookie %q, want none", got)
			}
			break
		}
		if r.status != http.StatusOK {
			t.Fatalf("item %d: got status %d, want 200 or 409; body %s", fitted+1, r.status, r.body)
		}
		for _, sc := range r.header.Values("Set-Cookie") {
			if len(sc) > sessionstore.MaxCookieSize {
				t.Fatalf("item %d: got a %d-byte Set-Cookie, want at most %d", fitted+1, len(sc), sessionstore.MaxCookieSize)
			}
		}
	}
	if fitted == maxCartItems {
		t.Fatalf("a full cart of %d-character items fitted in a cookie, want a refusal before", maxTextLen)
	}
	got := c.session(srv.URL)
	if !got.LoggedIn || len(got.Cart) != fitted || got.Store != "cookie" {
		t.Errorf("after the refusal: got %+v, want ada logged in, %d items, store cookie", got, fitted)
	}
	page := c.do(http.MethodPost, srv.URL+"/cart", "application/x-www-form-urlencoded", "item="+item)
	if page.status != http.StatusConflict || !strings.Contains(page.body, "too large for a cookie") {
		t.Errorf("form: got status %d, want 409 and a page saying the session is too large for a cookie", page.status)
	}
	t.Logf("%d items of %d characters fitted", fitted, maxTextLen)
}

// TestCookieStoreLogin checks what a cookie copied before login and one
// copied before logout give: the first never carries the login, the second
// still works after logout, the known price of stateless sessions. The page
// says where the session lives.
func TestCookieStoreLogin(t *testing.T) {
	srv := serve(t, "app-1", newCookieStore(t))
	c := newClient(t)
	c.postJSON(srv.URL+"/api/cart", `{"item":"tea"}`, http.StatusOK)
	beforeLogin := c.cookie(srv.URL)
	c.postJSON(srv.URL+"/api/login", `{"username":"ada"}`, http.StatusOK)
	beforeLogout := c.cookie(srv.URL)
	c.postJSON(srv.URL+"/api/logout", ``, http.StatusOK)

	tests := []struct {
		name     string
		cookie   string
		wantUser string
	}{
		{"copied before login", beforeLogin, ""},
		{"copied before logout", beforeLogout, "ada"},
	}
	for _, tc := range tests {
		other := newClient(t)
		r := other.do(http.MethodGet, srv.URL+"/api/session", "", "", "Cookie", DefaultCookieName+"="+tc.cookie)
		v := decodeView(t, r.body)
		if v.User != tc.wantUser || !slices.Equal(v.Cart, []string{"tea"}) {
			t.Errorf("%s: got user %q cart %q, want user %q cart [tea]", tc.name, v.User, v.Cart, tc.wantUser)
		}
	}
	if got := c.session(srv.URL); got.LoggedIn {
		t.Errorf("the browser that logged out: got %+v, want logged out", got)
	}
	page := c.do(http.MethodGet, srv.URL+"/", "", "")
	if !strings.Contains(page.body, "sessions in your browser") {
		t.Errorf("the page does not say that sessions are in the browser's cookie")
	}
}

// visitCap is a store whose sessions stop fitting once they count more than
// max visits, as a cookie-store session at the size limit does.
type visitCap struct {
	Store
	max int
}

func (v visitCap) Save(r *http.Request, w http.ResponseWriter, s *sessions.Session) error {
	if sessionVisits(s) > v.max {
		return fmt.Errorf("visits: %w", sessionstore.ErrTooLarge)
	}
	return v.Store.Save(r, w, s)
}

// TestVisitAtSizeLimit: a session that one more visit would make too large
// is still shown, page and API, with the visit not counted.
func TestVisitAtSizeLimit(t *testing.T) {
	srv := serve(t, "app-1", visitCap{newCookieStore(t), 3})
	c := newClient(t)
	c.postJSON(srv.URL+"/api/login", `{"username":"ada"}`, http.StatusOK)
	for i := range 5 {
		got := c.session(srv.URL)
		if want := min(i+1, 3); got.User != "ada" || got.Visits != want {
			t.Errorf("view %d: got user %q visits %d, want ada and %d", i+1, got.User, got.Visits, want)
		}
	}
	if page := c.do(http.MethodGet, srv.URL+"/", "", ""); page.status != http.StatusOK {
		t.Errorf("page at the limit: got status %d, want 200", page.status)
	}
}
