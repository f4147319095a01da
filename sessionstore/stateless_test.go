package sessionstore

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/prometheus/client_golang/prometheus"
)

// cookieKind makes envs of the cookie store, with a simulated clock.
func cookieKind() backendKind {
	return backendKind{name: "cookie", unit: 30 * time.Minute, make: newCookieEnv}
}

func newCookieEnv(t *testing.T, cfg Config) *env {
	clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	cfg.now = clk.now
	return &env{
		st:      newCookieStore(t, [][]byte{key1}, cfg),
		clock:   clk,
		advance: clk.advance,
		// The server keeps nothing.
		peek: func(*testing.T, string) ([]byte, time.Duration, bool) { return nil, 0, false },
	}
}

func newCookieStore(t *testing.T, keys [][]byte, cfg Config) *CookieStore {
	t.Helper()
	s, err := NewCookie(keys, cfg)
	if err != nil {
		t.Fatalf("NewCookie: %v", err)
	}
	return s
}

// decryptCookie returns the record in c; ok=false when it does not decrypt
// under s's keys.
func decryptCookie(s *CookieStore, c *http.Cookie) (cookieRecord, bool) {
	var b []byte
	if err := securecookie.DecodeMulti(cookieName, c.Value, &b, s.gorilla.Codecs...); err != nil {
		return cookieRecord{}, false
	}
	var rec cookieRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return cookieRecord{}, false
	}
	return rec, true
}

// cookieBehaviours are the cases that hold for the cookie store in place of
// those of behaviours that do not (their cookie field names these).
func cookieBehaviours() []behaviour {
	return []behaviour{
		{"a tampered, foreign or renamed cookie is no session", "", func(t *testing.T, e *env, unit time.Duration) {
			c, _ := stored(t, e.st, map[string]any{"user": "alice"})
			b := []byte(c.Value)
			b[len(b)/2] ^= 1
			other, _ := stored(t, newCookieStore(t, [][]byte{key2}, Config{}), map[string]any{"user": "alice"})
			renamed, err := e.st.New(request(nil), "other")
			if err != nil {
				t.Fatal(err)
			}
			renamed.Values["user"] = "alice"
			w := httptest.NewRecorder()
			if err := e.st.Save(request(nil), w, renamed); err != nil {
				t.Fatal(err)
			}
			v := w.Result().Cookies()[0].Value
			server, err := NewMemory([][]byte{key1}, Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer server.Close()
			signedID, _ := stored(t, server, map[string]any{"user": "alice"})
			for name, v := range map[string]string{
				"tampered": string(b), "other key": other.Value, "other name": v,
				"a server store's signed ID": signedID.Value, "empty": "",
			} {
				sess := load(t, e.st, &http.Cookie{Name: cookieName, Value: v})
				if !sess.IsNew || len(sess.Values) != 0 {
					t.Errorf("%s: got IsNew %v values %v, want a new empty session", name, sess.IsNew, sess.Values)
				}
			}
		}},
		{"key rotation", "", func(t *testing.T, e *env, unit time.Duration) {
			c, _ := stored(t, e.st, map[string]any{"user": "alice"})
			rotated := newCookieStore(t, [][]byte{key2, key1}, Config{})
			sess := load(t, rotated, c)
			if sess.IsNew || sess.Values["user"] != "alice" {
				t.Fatalf("got IsNew %v values %v after rotation, want alice's session", sess.IsNew, sess.Values)
			}
			c2 := mustSave(t, rotated, sess)
			if _, ok := decryptCookie(newCookieStore(t, [][]byte{key2}, Config{}), c2); !ok {
				t.Errorf("cookie after rotation does not decrypt with the newest key")
			}
			if _, ok := decryptCookie(e.st.(*CookieStore), c2); ok {
				t.Errorf("cookie after rotation decrypts with the old key alone: not made with the newest")
			}
		}},
		{"the idle timeout slides with every save", "", func(t *testing.T, e *env, unit time.Duration) {
			c, _ := stored(t, e.st, map[string]any{"user": "alice"})
			first := c
			for i := range 2 {
				e.advance(unit * 6 / 10)
				sess := load(t, e.st, c)
				if sess.IsNew {
					t.Fatalf("load %d, %v after the previous save: got a new session, want alice's", i+1, unit*6/10)
				}
				c = mustSave(t, e.st, sess)
			}
			if sess := load(t, e.st, first); !sess.IsNew {
				t.Errorf("the first cookie, unused for %v, still loads: want the idle timeout %v enforced from its value", 2*unit*6/10, unit)
			}
			e.advance(unit + unit/10)
			if sess := load(t, e.st, c); !sess.IsNew {
				t.Errorf("got alice's session after %v idle, want a new one", unit+unit/10)
			}
		}},
		{"the absolute lifetime ends a session saved on every load", "", func(t *testing.T, e *env, unit time.Duration) {
			lifetime := 3 * unit
			c, _ := stored(t, e.st, map[string]any{"user": "alice"})
			for elapsed := unit / 2; elapsed < lifetime+unit; elapsed += unit / 2 {
				e.advance(unit / 2)
				sess := load(t, e.st, c)
				if want := elapsed < lifetime; sess.IsNew == want {
					t.Fatalf("after %v of a %v lifetime: got found %v, want %v", elapsed, lifetime, !sess.IsNew, want)
				}
				if sess.IsNew {
					continue
				}
				c = mustSave(t, e.st, sess)
				if max := int((lifetime - elapsed) / time.Second); c.MaxAge > max || c.MaxAge < 1 {
					t.Errorf("got cookie MaxAge %d, want 1..%d (what is left of the lifetime)", c.MaxAge, max)
				}
			}
		}},
		{"renewal gives a fresh ID; the old cookie does not carry the login", "", func(t *testing.T, e *env, unit time.Duration) {
			c, old := stored(t, e.st, map[string]any{"cart": []string{"tea"}})
			sess := load(t, e.st, c)
			e.st.Renew(sess)
			sess.Values["user"] = "alice"
			c2 := mustSave(t, e.st, sess)
			if id := cookieID(t, e.st, c2); id == old || sess.ID != id {
				t.Fatalf("got ID %q (session %q), want a fresh one, not %q", id, sess.ID, old)
			}
			tests := []struct {
				name string
				c    *http.Cookie
				want map[any]any
			}{
				{"the cookie before login", c, map[any]any{"cart": []any{"tea"}}},
				{"the cookie after login", c2, map[any]any{"cart": []any{"tea"}, "user": "alice"}},
			}
			for _, tc := range tests {
				if got := load(t, e.st, tc.c).Values; !reflect.DeepEqual(got, tc.want) {
					t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
				}
			}
		}},
		{"a cookie copied before logout still works after it", "", func(t *testing.T, e *env, unit time.Duration) {
			// The known cost of a stateless session: logout can only ask
			// the browser to forget its cookie; a copy (another tab's, a
			// thief's) stays valid until its idle timeout or lifetime.
			c, _ := stored(t, e.st, map[string]any{"user": "alice"})
			copied := *c
			sess := load(t, e.st, c)
			sess.Options.MaxAge = -1
			c2, err := save(e.st, sess)
			if err != nil || c2 == nil || c2.MaxAge >= 0 || c2.Value != "" {
				t.Fatalf("got cookie %+v, err %v; want an expired empty cookie", c2, err)
			}
			if got := load(t, e.st, &copied).Values["user"]; got != "alice" {
				t.Errorf("got user %v from the copied cookie after logout, want alice (what a server-side store's logout prevents)", got)
			}
		}},
		{"last writer wins", "", func(t *testing.T, e *env, unit time.Duration) {
			c, _ := stored(t, e.st, map[string]any{"cart": []string{}})
			a, b := load(t, e.st, c), load(t, e.st, c)
			a.Values["cart"] = append(a.Values["cart"].([]any), "tea")
			mustSave(t, e.st, a)
			b.Values["cart"] = append(b.Values["cart"].([]any), "milk")
			last := mustSave(t, e.st, b)
			if got, want := load(t, e.st, last).Values["cart"], []any{"milk"}; !reflect.DeepEqual(got, want) {
				t.Errorf("got cart %v in the last cookie, want %v: tea is lost", got, want)
			}
		}},
		{"a session too large for a cookie is refused, not truncated", "", func(t *testing.T, e *env, unit time.Duration) {
			item := strings.Repeat("x", 64) // the app's longest item
			c, _ := stored(t, e.st, map[string]any{"user": "alice", "cart": []string{}})
			var n int
			for n = 0; n < 100; n++ {
				sess := load(t, e.st, c)
				sess.Values["cart"] = append(sess.Values["cart"].([]any), item)
				w := httptest.NewRecorder()
				err := e.st.Save(request(nil), w, sess)
				if errors.Is(err, ErrTooLarge) {
					if got := w.Header().Values("Set-Cookie"); len(got) != 0 {
						t.Errorf("got Set-Cookie %q with the refusal, want none", got)
					}
					break
				}
				if err != nil {
					t.Fatalf("Save item %d: %v", n+1, err)
				}
				c = w.Result().Cookies()[0]
				if size := len(w.Header().Get("Set-Cookie")); size > MaxCookieSize {
					t.Fatalf("got a %d-byte Set-Cookie, want at most %d", size, MaxCookieSize)
				}
			}
			if n == 100 {
				t.Fatalf("100 items of 64 characters fit in a cookie, want a refusal before")
			}
			cart, _ := load(t, e.st, c).Values["cart"].([]any)
			if len(cart) != n {
				t.Errorf("got %d items in the last cookie sent, want the %d that fit", len(cart), n)
			}
			t.Logf("%d items of %d characters fit in a %d-byte cookie", n, len(item), MaxCookieSize)
		}},
	}
}

// TestCookieCasesNamed checks that every behaviour the cookie store skips
// names a cookie case that exists.
func TestCookieCasesNamed(t *testing.T) {
	cases := map[string]bool{}
	for _, b := range cookieBehaviours() {
		cases[b.name] = true
	}
	named := regexp.MustCompile(`\(cookie case: (.+)\)$`)
	for _, b := range behaviours() {
		if b.cookie == "" {
			continue
		}
		m := named.FindStringSubmatch(b.cookie)
		if m == nil || !cases[m[1]] {
			t.Errorf("%s: got cookie note %q, want it to end with (cookie case: NAME) of an existing case", b.name, b.cookie)
		}
	}
}

// TestCookieStoreMetrics counts a cookie store's loads, saves and size
// refusals under store="cookie".
func TestCookieStoreMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newCookieStore(t, [][]byte{key1}, Config{Metrics: NewMetrics(reg)})
	c, _ := stored(t, s, map[string]any{"user": "alice"})
	sess := load(t, s, c)
	sess.Values["cart"] = strings.Repeat("x", MaxCookieSize)
	if _, err := save(s, sess); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v for a 4096-character value, want ErrTooLarge", err)
	}
	got := gathered(t, reg)
	for series, want := range map[string]float64{
		`loads_total{result="none",store="cookie"}`:    1,
		`loads_total{result="found",store="cookie"}`:   1,
		`saves_total{result="written",store="cookie"}`: 1,
		`errors_total{op="too_large",store="cookie"}`:  1,
	} {
		if got[series] != want {
			t.Errorf("got %s %v, want %v", series, got[series], want)
		}
	}
}

// TestNewCookieRefusesKeys checks the constructor's errors.
func TestNewCookieRefusesKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys [][]byte
	}{
		{"no key", nil},
		{"an empty key", [][]byte{key1, {}}},
	} {
		if _, err := NewCookie(tc.keys, Config{}); err == nil {
			t.Errorf("%s: got no error, want one", tc.name)
		}
	}
}
