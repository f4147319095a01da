package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
)

// setCookie returns the session cookie a response sets, or nil.
func setCookie(r response) *http.Cookie { return setCookieNamed(r, DefaultCookieName) }

// setCookieNamed returns the cookie called name that a response sets, or nil.
func setCookieNamed(r response, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// replay sends a request with exactly the given session cookie value and no
// jar, the way an attacker holding an old cookie would.
func replay(t *testing.T, base, cookie string) sessionView {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/api/session", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: DefaultCookieName, Value: cookie})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v sessionView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("replay: decode: %v", err)
	}
	return v
}

func TestLoginRenewsSessionID(t *testing.T) {
	for _, form := range []bool{false, true} {
		name := map[bool]string{false: "api", true: "form"}[form]
		t.Run(name, func(t *testing.T) {
			srv := serve(t, "app-1", newMemoryStore(t, nil))
			c := newClient(t)
			c.postJSON(srv.URL+"/api/cart", `{"item":"apple"}`, 200)
			before := c.cookie(srv.URL)
			if before == "" {
				t.Fatal("got no session cookie after adding to the cart")
			}
			if form {
				if r := c.do("POST", srv.URL+"/login", formType, "username=ada"); r.status != http.StatusSeeOther {
					t.Fatalf("POST /login: got status %d, want 303", r.status)
				}
			} else {
				c.postJSON(srv.URL+"/api/login", `{"username":"ada"}`, 200)
			}
			after := c.cookie(srv.URL)
			if after == "" || after == before {
				t.Fatalf("got cookie %q after login, want a new one (before: %q)", after, before)
			}
			got := c.session(srv.URL)
			if !got.LoggedIn || got.User != "ada" || !slices.Equal(got.Cart, []string{"apple"}) {
				t.Errorf("got %+v after login, want ada logged in with the cart kept", got)
			}
			if old := replay(t, srv.URL, before); old.LoggedIn || len(old.Cart) != 0 || old.Visits != 1 {
				t.Errorf("old cookie after login: got %+v, want a fresh session", old)
			}
		})
	}
}

func TestLogoutEndsSession(t *testing.T) {
	for _, form := range []bool{false, true} {
		name := map[bool]string{false: "api", true: "form"}[form]
		t.Run(name, func(t *testing.T) {
			srv := serve(t, "app-1", newMemoryStore(t, nil))
			c := newClient(t)
			c.postJSON(srv.URL+"/api/login", `{"username":"ada"}`, 200)
			c.postJSON(srv.URL+"/api/cart", `{"item":"apple"}`, 200)
			cookie := c.cookie(srv.URL)

			var r response
			if form {
				r = c.do("POST", srv.URL+"/logout", formType, "")
				if r.status != http.StatusSeeOther {
					t.Fatalf("POST /logout: got status %d, want 303", r.status)
				}
			} else {
				r = c.postJSON(srv.URL+"/api/logout", "", 200)
				if got := decodeView(t, r.body); got.LoggedIn || got.User != "" || len(got.Cart) != 0 || got.Visits != 0 {
					t.Errorf("POST /api/logout: got %+v, want an empty session", got)
				}
			}
			if ck := setCookie(r); ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
				t.Errorf("logout: got Set-Cookie %v, want the session cookie expired", ck)
			}
			if got := c.cookie(srv.URL); got != "" {
				t.Errorf("logout: the jar still holds cookie %q", got)
			}
			if old := replay(t, srv.URL, cookie); old.LoggedIn || len(old.Cart) != 0 {
				t.Errorf("replayed cookie after logout: got %+v, want a fresh session", old)
			}
		})
	}
}

func TestVisitsAndCart(t *testing.T) {
	srv := serve(t, "app-1", newMemoryStore(t, nil))
	c := newClient(t)
	steps := []struct {
		name       string
		do         func()
		wantVisits int // after the step, before the checking /api/session
	}{
		{"page view counts", func() { c.do("GET", srv.URL+"/", "", "") }, 1},
		{"second page view counts", func() { c.do("GET", srv.URL+"/", "", "") }, 2},
		{"cart post does not count", func() { c.postJSON(srv.URL+"/api/cart", `{"item":"apple"}`, 200) }, 2},
		{"form cart post does not count", func() { c.do("POST", srv.URL+"/cart", formType, "item=pear") }, 2},
		{"login does not count", func() { c.postJSON(srv.URL+"/api/login", `{"username":"ada"}`, 200) }, 2},
		{"health does not count", func() { c.do("GET", srv.URL+"/healthz", "", "") }, 2},
		{"cart view does not count", func() { c.do("GET", srv.URL+"/api/cart", "", "") }, 2},
	}
	checks := 0 // every /api/session of the checks counts one too
	for _, s := range steps {
		s.do()
		got := c.session(srv.URL)
		checks++
		if want := s.wantVisits + checks; got.Visits != want {
			t.Errorf("%s: got visits %d, want %d", s.name, got.Visits, want)
		}
	}
	if got := c.session(srv.URL).Cart; !slices.Equal(got, []string{"apple", "pear"}) {
		t.Errorf("got cart %q, want [apple pear]", got)
	}
}

// TestCartViewOnlyReads: GET /api/cart answers the session as it is and
// writes nothing to the store, where GET /api/session writes a visit.
func TestCartViewOnlyReads(t *testing.T) {
	mr := miniredis.RunT(t)
	srv := serve(t, "app-1", newRedisStore(t, mr.Addr()))
	c := newClient(t)
	c.postJSON(srv.URL+"/api/login", `{"username":"ada"}`, 200)
	c.postJSON(srv.URL+"/api/cart", `{"item":"tea"}`, 200)
	keys := mr.Keys()
	if len(keys) != 1 {
		t.Fatalf("got keys %v, want one session", keys)
	}
	before, _ := mr.Get(keys[0])
	r := c.do("GET", srv.URL+"/api/cart", "", "")
	v := decodeView(t, r.body)
	if r.status != 200 || v.User != "ada" || !slices.Equal(v.Cart, []string{"tea"}) {
		t.Fatalf("GET /api/cart: got %d %+v, want 200 with ada's cart [tea]", r.status, v)
	}
	if after, _ := mr.Get(keys[0]); after != before {
		t.Errorf("GET /api/cart changed the stored session:\n got %s\nwant %s", after, before)
	}
	c.session(srv.URL)
	if after, _ := mr.Get(keys[0]); after == before {
		t.Errorf("GET /api/session wrote nothing, want the visit counted")
	}
}

func TestSessionJSONShape(t *testing.T) {
	srv := serve(t, "app-7", newMemoryStore(t, nil))
	c := newClient(t)
	tests := []struct {
		name string
		do   func() response
		want map[string]any
	}{
		{"fresh", func() response { return c.do("GET", srv.URL+"/api/session", "", "") }, map[string]any{
			"instance": "app-7", "store": "memory", "logged_in": false, "user": "", "visits": 1.0, "cart": []any{},
		}},
		{"after login and cart", func() response {
			c.postJSON(srv.URL+"/api/login", `{"username":"ada"}`, 200)
			return c.postJSON(srv.URL+"/api/cart", `{"item":"tea"}`, 200)
		}, map[string]any{
			"instance": "app-7", "store": "memory", "logged_in": true, "user": "ada", "visits": 1.0, "cart": []any{"tea"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.do()
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("got Content-Type %q, want application/json", ct)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("got Cache-Control %q, want no-store", cc)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(r.body), &got); err != nil {
				t.Fatalf("decode %s: %v", r.body, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCartFull(t *testing.T) {
	srv := serve(t, "app-1", newMemoryStore(t, nil))
	c := newClient(t)
	for i := range maxCartItems {
		c.postJSON(srv.URL+"/api/cart", `{"item":"item `+strings.Repeat("i", i%10)+`"}`, 200)
	}
	r := c.postJSON(srv.URL+"/api/cart", `{"item":"one too many"}`, http.StatusConflict)
	if msg := errorBody(t, r); !strings.Contains(msg, "cart is full") {
		t.Errorf("got error %q, want it to say the cart is full", msg)
	}
	if got := len(c.session(srv.URL).Cart); got != maxCartItems {
		t.Errorf("got %d items, want %d", got, maxCartItems)
	}
}

func TestCrossOriginProtection(t *testing.T) {
	srv := serve(t, "app-1", newMemoryStore(t, nil))
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name    string
		path    string
		ctype   string
		body    string
		headers []string
		want    int
	}{
		{"form cross-site", "/login", formType, "username=eve", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"form same-site other origin", "/cart", formType, "item=x", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"form foreign Origin", "/logout", formType, "", []string{"Origin", "http://evil.example"}, 403},
		{"form same-origin", "/login", formType, "username=ada", []string{"Sec-Fetch-Site", "same-origin"}, 303},
		{"form typed in address bar", "/cart", formType, "item=x", []string{"Sec-Fetch-Site", "none"}, 303},
		{"form matching Origin", "/login", formType, "username=ada", []string{"Origin", "http://" + host}, 303},
		{"form no browser headers (curl)", "/login", formType, "username=ada", nil, 303},
		{"api cross-site", "/api/login", jsonType, `{"username":"eve"}`, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"api same-origin", "/api/cart", jsonType, `{"item":"x"}`, []string{"Sec-Fetch-Site", "same-origin"}, 200},
		{"api no browser headers (curl)", "/api/logout", "", "", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t)
			r := c.do("POST", srv.URL+tt.path, tt.ctype, tt.body, tt.headers...)
			if r.status != tt.want {
				t.Fatalf("got status %d, want %d; body %s", r.status, tt.want, r.body)
			}
			if r.status != http.StatusForbidden {
				return
			}
			if setCookie(r) != nil {
				t.Errorf("a refused request set a cookie")
			}
			var msg string
			if strings.HasPrefix(tt.path, "/api/") {
				msg = errorBody(t, r)
			} else {
				msg = r.body
			}
			if !strings.Contains(msg, "cross-origin request refused") {
				t.Errorf("got %q, want it to say the cross-origin request was refused", msg)
			}
		})
	}
}

func TestCookieAttributes(t *testing.T) {
	store := newMemoryStore(t, nil)
	plain := serve(t, "app-1", store)
	a, err := New(Config{Name: "app-1"}, store)
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv := httptest.NewTLSServer(a)
	t.Cleanup(tlsSrv.Close)

	tests := []struct {
		name       string
		client     *http.Client
		url        string
		headers    []string
		wantSecure bool
	}{
		{"plain http", http.DefaultClient, plain.URL, nil, false},
		{"behind TLS proxy", http.DefaultClient, plain.URL, []string{"X-Forwarded-Proto", "https"}, true},
		{"behind plain proxy", http.DefaultClient, plain.URL, []string{"X-Forwarded-Proto", "http"}, false},
		{"behind two proxies, client on TLS", http.DefaultClient, plain.URL, []string{"X-Forwarded-Proto", "HTTPS, http"}, true},
		{"behind two proxies, client on plain", http.DefaultClient, plain.URL, []string{"X-Forwarded-Proto", "http, https"}, false},
		{"direct TLS", tlsSrv.Client(), tlsSrv.URL, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &client{t: t, http: tt.client}
			// An anonymous visit sets the visits cookie only; the first
			// cart item, the session cookie. Both get the same attributes.
			visit := c.do("GET", tt.url+"/api/session", "", "", tt.headers...)
			cart := c.do("POST", tt.url+"/api/cart", "application/json", `{"item":"tea"}`, tt.headers...)
			for _, ck := range []struct {
				name string
				r    response
			}{
				{DefaultCookieName + "_visits", visit},
				{DefaultCookieName, cart},
			} {
				got := setCookieNamed(ck.r, ck.name)
				if got == nil {
					t.Fatalf("got no %s cookie; headers %v", ck.name, ck.r.header)
				}
				if got.Secure != tt.wantSecure {
					t.Errorf("%s: got Secure %v, want %v", ck.name, got.Secure, tt.wantSecure)
				}
				if !got.HttpOnly || got.SameSite != http.SameSiteLaxMode || got.Path != "/" {
					t.Errorf("%s: got HttpOnly %v, SameSite %v, Path %q; want true, Lax, /", ck.name, got.HttpOnly, got.SameSite, got.Path)
				}
			}
			if setCookie(visit) != nil {
				t.Errorf("an anonymous visit set a session cookie; want none until the session holds something")
			}
		})
	}
}
