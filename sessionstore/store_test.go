package sessionstore

import (
	"bytes"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/gorilla/sessions"
)

// behaviour is one case of the table every backend must pass.
type behaviour struct {
	name string
	// cookie says why the case does not hold for the cookie store, and
	// which case of cookieBehaviours states what holds instead; empty when
	// it holds as written.
	cookie string
	run    func(t *testing.T, e *env, unit time.Duration)
}

// TestBehaviour runs the behaviour table against memory, miniredis, a real
// redis-server and the cookie store. The cookie store skips the cases that
// do not hold for it, saying why, and runs cookieBehaviours, what holds
// instead. Time-based cases use IdleTimeout = unit and Lifetime = 3 units.
func TestBehaviour(t *testing.T) {
	for _, k := range append(backendKinds(), cookieKind()) {
		cookie := k.name == cookieKind().name
		t.Run(k.name, func(t *testing.T) {
			table := behaviours()
			if cookie {
				table = append(table, cookieBehaviours()...)
			}
			for _, b := range table {
				t.Run(b.name, func(t *testing.T) {
					if cookie && b.cookie != "" {
						t.Skip("differs for the cookie store: " + b.cookie)
					}
					e := k.make(t, Config{IdleTimeout: k.unit, Lifetime: 3 * k.unit})
					b.run(t, e, k.unit)
				})
			}
		})
	}
}

func behaviours() []behaviour {
	return []behaviour{
		{"values round-trip through JSON", "", func(t *testing.T, e *env, unit time.Duration) {
			c, id := stored(t, e.st, map[string]any{"user": "alice", "visits": 3, "cart": []string{"tea"}})
			sess := load(t, e.st, c)
			if sess.IsNew || sess.ID != id {
				t.Fatalf("got IsNew %v ID %q, want false and %q", sess.IsNew, sess.ID, id)
			}
			want := map[any]any{"user": "alice", "visits": float64(3), "cart": []any{"tea"}}
			if !reflect.DeepEqual(sess.Values, want) {
				t.Errorf("got values %#v, want %#v", sess.Values, want)
			}
		}},
		{"new session has cookie defaults", "", func(t *testing.T, e *env, unit time.Duration) {
			sess := load(t, e.st, nil)
			o := sess.Options
			if o.Path != "/" || !o.HttpOnly || o.SameSite != http.SameSiteLaxMode || o.Secure || o.MaxAge != int(3*unit/time.Second) {
				t.Fatalf("got options %+v, want Path / HttpOnly SameSite Lax MaxAge %d", *o, int(3*unit/time.Second))
			}
			sess.Options.Secure = true
			sess.Values["user"] = "alice"
			c := mustSave(t, e.st, sess)
			if !c.Secure || !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode || c.MaxAge != o.MaxAge {
				t.Errorf("got cookie %+v, want Secure HttpOnly Path / SameSite Lax MaxAge %d", c, o.MaxAge)
			}
		}},
		{"new empty session is not stored", "", func(t *testing.T, e *env, unit time.Duration) {
			sess := load(t, e.st, nil)
			c, err := save(e.st, sess)
			if err != nil || c != nil || sess.ID != "" {
				t.Fatalf("got cookie %v, ID %q, err %v; want no cookie, no ID, no error", c, sess.ID, err)
			}
		}},
		{"strict mode: a signed unknown ID is not adopted", "there is no ID to look up: the cookie is the session, and only the keys can make one (cookie case: a tampered, foreign or renamed cookie is no session)", func(t *testing.T, e *env, unit time.Duration) {
			forged := newID()
			v, err := e.store.cookies.encode(cookieName, forged)
			if err != nil {
				t.Fatal(err)
			}
			sess := load(t, e.st, &http.Cookie{Name: cookieName, Value: v})
			if !sess.IsNew || sess.ID != "" || len(sess.Values) != 0 {
				t.Fatalf("got IsNew %v ID %q values %v, want a new empty session", sess.IsNew, sess.ID, sess.Values)
			}
			sess.Values["user"] = "mallory's victim"
			c := mustSave(t, e.st, sess)
			if got := cookieID(t, e.st, c); got == forged {
				t.Errorf("got the client's ID %q back, want a fresh one", got)
			}
			if _, _, ok := e.peek(t, forged); ok {
				t.Errorf("the client's ID was stored")
			}
		}},
		{"a tampered, foreign or renamed cookie is no cookie", "the same property over whole encrypted sessions (cookie case: a tampered, foreign or renamed cookie is no session)", func(t *testing.T, e *env, unit time.Duration) {
			c, id := stored(t, e.st, map[string]any{"user": "alice"})
			b := []byte(c.Value)
			b[len(b)/2] ^= 1
			other, err := sibling(t, e.store, [][]byte{key2}).cookies.encode(cookieName, id)
			if err != nil {
				t.Fatal(err)
			}
			renamed, err := e.store.cookies.encode("other", id)
			if err != nil {
				t.Fatal(err)
			}
			for name, v := range map[string]string{"tampered": string(b), "other key": other, "other name": renamed, "raw ID": id, "empty": ""} {
				sess := load(t, e.st, &http.Cookie{Name: cookieName, Value: v})
				if !sess.IsNew || len(sess.Values) != 0 {
					t.Errorf("%s: got IsNew %v values %v, want a new empty session", name, sess.IsNew, sess.Values)
				}
			}
		}},
		{"key rotation: old keys verify, new cookies use the newest", "the same property over encryption keys (cookie case: key rotation)", func(t *testing.T, e *env, unit time.Duration) {
			c, _ := stored(t, e.st, map[string]any{"user": "alice"})
			rotated := sibling(t, e.store, [][]byte{key2, key1})
			sess := load(t, rotated, c)
			if sess.IsNew || sess.Values["user"] != "alice" {
				t.Fatalf("got IsNew %v values %v after rotation, want alice's session", sess.IsNew, sess.Values)
			}
			sess.Values["visits"] = 1
			c2 := mustSave(t, rotated, sess)
			if _, ok := sibling(t, e.store, [][]byte{key2}).cookies.decode(cookieName, c2.Value); !ok {
				t.Errorf("cookie after rotation does not verify with the newest key")
			}
			if _, ok := e.store.cookies.decode(cookieName, c2.Value); ok {
				t.Errorf("cookie after rotation verifies with the old key alone: not signed with the newest")
			}
		}},
		{"unchanged save writes nothing, a change writes one version", "nothing is ever written server-side, and every save sends the cookie again, which slides the idle timeout (cookie case: the idle timeout slides with every save)", func(t *testing.T, e *env, unit time.Duration) {
			c, id := stored(t, e.st, map[string]any{"user": "alice", "cart": []string{"tea"}})
			before, _, _ := e.peek(t, id)
			sess := load(t, e.st, c)
			c2 := mustSave(t, e.st, sess)
			after, _, _ := e.peek(t, id)
			if !bytes.Equal(before, after) {
				t.Fatalf("unchanged save rewrote the record:\n got %s\nwant %s", after, before)
			}
			if got := cookieID(t, e.st, c2); got != id {
				t.Errorf("got cookie ID %q after unchanged save, want %q", got, id)
			}
			sess.Values["visits"] = 2
			mustSave(t, e.st, sess)
			rec, _, _ := e.peek(t, id)
			r, err := decodeRecord(rec)
			if err != nil || r.Version != 2 {
				t.Errorf("got version %d (%v) after one change, want 2", r.Version, err)
			}
		}},
		{"idle timeout slides and then expires", "a load alone cannot slide it: only a save sends a new cookie (cookie case: the idle timeout slides with every save)", func(t *testing.T, e *env, unit time.Duration) {
			// IdleGrace is unit/10: Redis ends a session between unit and
			// unit*11/10 after its last load, memory exactly unit after it.
			c, id := stored(t, e.st, map[string]any{"user": "alice"})
			for i, idle := range []time.Duration{unit * 6 / 10, unit * 6 / 10, unit * 95 / 100} {
				e.advance(idle)
				if sess := load(t, e.st, c); sess.IsNew {
					t.Fatalf("load %d, %v after the previous one: got a new session, want alice's", i+1, idle)
				}
			}
			e.advance(unit + unit/5)
			if sess := load(t, e.st, c); !sess.IsNew {
				t.Errorf("got alice's session after %v idle, want a new one", unit+unit/5)
			}
			if _, _, ok := e.peek(t, id); ok {
				t.Errorf("the idle session is still stored")
			}
		}},
		{"a load writes only when less than the idle timeout is left", "nothing is stored (cookie case: the idle timeout slides with every save)", func(t *testing.T, e *env, unit time.Duration) {
			if e.client == nil {
				t.Skip("memory slides its expiry on every load, at no cost")
			}
			c, id := stored(t, e.st, map[string]any{"user": "alice"})
			before, _, _ := e.peek(t, id)
			e.advance(unit / 20)
			load(t, e.st, c)
			if after, _, _ := e.peek(t, id); string(after) != string(before) {
				t.Fatalf("a load with more than the idle timeout left wrote:\n got %s\nwant %s", after, before)
			}
			e.advance(unit / 10)
			load(t, e.st, c)
			after, ttl, _ := e.peek(t, id)
			rb, _ := decodeRecord(before)
			ra, err := decodeRecord(after)
			if err != nil || ra.Version != rb.Version || ra.Expires <= rb.Expires || string(ra.Values) != string(rb.Values) {
				t.Errorf("a load with less than the idle timeout left: got %s (%v), want %s with a later expires", after, err, before)
			}
			if ttl <= unit {
				t.Errorf("got TTL %v after the touch, want more than the idle timeout %v", ttl, unit)
			}
		}},
		{"absolute lifetime ends an active session", "the case loads without saving, which does not slide the cookie's idle timeout (cookie case: the absolute lifetime ends a session saved on every load)", func(t *testing.T, e *env, unit time.Duration) {
			lifetime := 3 * unit
			c, id := stored(t, e.st, map[string]any{"user": "alice"})
			for elapsed := unit / 2; elapsed < lifetime+unit; elapsed += unit / 2 {
				e.advance(unit / 2)
				sess := load(t, e.st, c)
				if want := elapsed < lifetime; sess.IsNew == want {
					t.Fatalf("after %v of a %v lifetime: got found %v, want %v", elapsed, lifetime, !sess.IsNew, want)
				}
				if _, ttl, ok := e.peek(t, id); ok && ttl > lifetime-elapsed {
					t.Errorf("after %v: got TTL %v, want at most the %v left", elapsed, ttl, lifetime-elapsed)
				}
				if elapsed == 2*unit {
					sess.Values["visits"] = 1 // a write keeps the deadline
					c2 := mustSave(t, e.st, sess)
					if max := int((lifetime - elapsed) / time.Second); c2.MaxAge > max || c2.MaxAge < 1 {
						t.Errorf("got cookie MaxAge %d, want 1..%d (what is left of the lifetime)", c2.MaxAge, max)
					}
				}
			}
		}},
		{"renewal moves the session to a fresh ID and deletes the old one", "nothing to delete: a copy of the old cookie still loads the old values, never the new ones (cookie case: renewal gives a fresh ID; the old cookie does not carry the login)", func(t *testing.T, e *env, unit time.Duration) {
			c, old := stored(t, e.st, map[string]any{"cart": []string{"tea"}})
			sess := load(t, e.st, c)
			e.st.Renew(sess)
			sess.Values["user"] = "alice"
			c2 := mustSave(t, e.st, sess)
			id := cookieID(t, e.st, c2)
			if id == old || sess.ID != id {
				t.Fatalf("got ID %q (session %q), want a fresh one, not %q", id, sess.ID, old)
			}
			if _, _, ok := e.peek(t, old); ok {
				t.Errorf("the old ID is still stored")
			}
			if s := load(t, e.st, c); !s.IsNew {
				t.Errorf("the old cookie still loads a session")
			}
			want := map[any]any{"cart": []any{"tea"}, "user": "alice"}
			if s := load(t, e.st, c2); !reflect.DeepEqual(s.Values, want) {
				t.Errorf("got %v under the new ID, want %v", s.Values, want)
			}
		}},
		{"renewal of an unchanged session still renews", "", func(t *testing.T, e *env, unit time.Duration) {
			c, old := stored(t, e.st, map[string]any{"user": "alice"})
			sess := load(t, e.st, c)
			e.st.Renew(sess)
			if id := cookieID(t, e.st, mustSave(t, e.st, sess)); id == old {
				t.Errorf("got the old ID back, want a fresh one")
			}
			if _, _, ok := e.peek(t, old); ok {
				t.Errorf("the old ID is still stored")
			}
		}},
		{"MaxAge < 0 deletes the session and expires the cookie", "a copy of the cookie taken before logout still works: the server has nothing to delete (cookie case: a cookie copied before logout still works after it)", func(t *testing.T, e *env, unit time.Duration) {
			c, id := stored(t, e.st, map[string]any{"user": "alice"})
			sess := load(t, e.st, c)
			sess.Options.MaxAge = -1
			c2, err := save(e.st, sess)
			if err != nil || c2 == nil || c2.MaxAge >= 0 || c2.Value != "" {
				t.Fatalf("got cookie %+v, err %v; want an expired empty cookie", c2, err)
			}
			if _, _, ok := e.peek(t, id); ok {
				t.Errorf("the deleted session is still stored")
			}
			if len(sess.Values) != 0 {
				t.Errorf("got values %v after delete, want none", sess.Values)
			}
			if s := load(t, e.st, c); !s.IsNew {
				t.Errorf("the deleted session still loads")
			}
		}},
		{"a lost race is ErrConflict and nothing is overwritten", "no compare-and-set: the browser keeps the last cookie it gets (cookie case: last writer wins)", func(t *testing.T, e *env, unit time.Duration) {
			c, _ := stored(t, e.st, map[string]any{"cart": []string{}})
			a, b := load(t, e.st, c), load(t, e.st, c)
			a.Values["cart"] = append(a.Values["cart"].([]any), "tea")
			mustSave(t, e.st, a)
			b.Values["cart"] = append(b.Values["cart"].([]any), "milk")
			if _, err := save(e.st, b); !errors.Is(err, ErrConflict) {
				t.Fatalf("got %v from the second save, want ErrConflict", err)
			}
			b = load(t, e.st, c) // reload and re-apply, as the caller must
			b.Values["cart"] = append(b.Values["cart"].([]any), "milk")
			mustSave(t, e.st, b)
			want := []any{"tea", "milk"}
			if got := load(t, e.st, c).Values["cart"]; !reflect.DeepEqual(got, want) {
				t.Errorf("got cart %v, want %v", got, want)
			}
		}},
		{"saving a session deleted meanwhile is ErrConflict", "nothing is deleted server-side, so nothing conflicts (cookie case: a cookie copied before logout still works after it)", func(t *testing.T, e *env, unit time.Duration) {
			c, id := stored(t, e.st, map[string]any{"user": "alice"})
			a := load(t, e.st, c)
			d := load(t, e.st, c)
			d.Options.MaxAge = -1
			if _, err := save(e.st, d); err != nil {
				t.Fatal(err)
			}
			a.Values["visits"] = 1
			if _, err := save(e.st, a); !errors.Is(err, ErrConflict) {
				t.Fatalf("got %v, want ErrConflict", err)
			}
			if _, _, ok := e.peek(t, id); ok {
				t.Errorf("the deleted session was written again")
			}
		}},
		{"a renewal that lost a race is ErrConflict and keeps the old ID", "no compare-and-set (cookie case: last writer wins)", func(t *testing.T, e *env, unit time.Duration) {
			c, id := stored(t, e.st, map[string]any{"user": "alice"})
			a, b := load(t, e.st, c), load(t, e.st, c)
			b.Values["visits"] = 1
			mustSave(t, e.st, b)
			e.st.Renew(a)
			if _, err := save(e.st, a); !errors.Is(err, ErrConflict) {
				t.Fatalf("got %v, want ErrConflict", err)
			}
			if a.ID != id {
				t.Errorf("got ID %q after the failed renewal, want the old %q", a.ID, id)
			}
			if got := load(t, e.st, c).Values["visits"]; got != float64(1) {
				t.Errorf("got visits %v, want the winner's 1", got)
			}
		}},
		{"stored TTL is at most the idle timeout and its grace", "nothing is stored; the idle timeout is inside the value (cookie case: the idle timeout slides with every save)", func(t *testing.T, e *env, unit time.Duration) {
			c, id := stored(t, e.st, map[string]any{"user": "alice"})
			load(t, e.st, c)
			if _, ttl, ok := e.peek(t, id); !ok || ttl <= 0 || ttl > unit+unit/10 {
				t.Errorf("got TTL %v (stored %v), want 0 < TTL <= %v", ttl, ok, unit+unit/10)
			}
		}},
		{"a value key that is not a string fails the save", "", func(t *testing.T, e *env, unit time.Duration) {
			sess := load(t, e.st, nil)
			sess.Values[42] = "answer"
			if _, err := save(e.st, sess); err == nil {
				t.Errorf("got no error for an int key, want one")
			}
		}},
		{"a session made outside the store gets a fresh ID", "", func(t *testing.T, e *env, unit time.Duration) {
			sess := sessions.NewSession(e.st, cookieName)
			chosen := newID() // chosen by someone else: never adopted
			sess.ID = chosen
			sess.Values["user"] = "alice"
			id := cookieID(t, e.st, mustSave(t, e.st, sess))
			if id == chosen || sess.ID != id {
				t.Fatalf("got cookie ID %q, session ID %q; want a fresh ID in both, not %q", id, sess.ID, chosen)
			}
			if _, _, ok := e.peek(t, chosen); ok {
				t.Errorf("the chosen ID was stored")
			}
		}},
		{"Get returns the same session within a request", "", func(t *testing.T, e *env, unit time.Duration) {
			r := request(nil)
			a, err1 := e.st.Get(r, cookieName)
			b, err2 := e.st.Get(r, cookieName)
			if err1 != nil || err2 != nil || a != b {
				t.Errorf("got %p, %p (%v, %v), want the same session twice", a, b, err1, err2)
			}
		}},
	}
}
