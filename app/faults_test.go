package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/sessions"

	"stickylab/sessionstore"
)

// faultyStore wraps a real store and injects failures.
type faultyStore struct {
	Store
	mu        sync.Mutex // protects the fields below
	conflicts int        // the next this many Saves fail with ErrConflict
	down      bool       // every call fails with ErrUnavailable
	panics    bool       // New panics
	saves     int        // Saves that reached the real store
}

var _ Store = (*faultyStore)(nil)

// errSecret is a backend error whose text must never reach a client.
var errSecret = errors.New("dial tcp 10.1.2.3:6379: secret backend detail")

func (f *faultyStore) New(r *http.Request, name string) (*sessions.Session, error) {
	f.mu.Lock()
	down, panics := f.down, f.panics
	f.mu.Unlock()
	if panics {
		panic("faultyStore: " + errSecret.Error())
	}
	if down {
		return nil, fmt.Errorf("%w: %w", sessionstore.ErrUnavailable, errSecret)
	}
	return f.Store.New(r, name)
}

func (f *faultyStore) Save(r *http.Request, w http.ResponseWriter, s *sessions.Session) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return fmt.Errorf("%w: %w", sessionstore.ErrUnavailable, errSecret)
	}
	if f.conflicts > 0 {
		f.conflicts--
		return sessionstore.ErrConflict
	}
	f.saves++
	return f.Store.Save(r, w, s)
}

func (f *faultyStore) Ping(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return fmt.Errorf("%w: %w", sessionstore.ErrUnavailable, errSecret)
	}
	return f.Store.Ping(ctx)
}

func (f *faultyStore) set(change func(*faultyStore)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// TestConflictReapplies checks that a change that lost compare-and-set races
// is re-applied on a fresh load, once, and that giving up leaves nothing.
func TestConflictReapplies(t *testing.T) {
	tests := []struct {
		name       string
		conflicts  int
		wantStatus int
		wantCart   []string
	}{
		{"no conflict", 0, 200, []string{"old", "new"}},
		{"one conflict", 1, 200, []string{"old", "new"}},
		{"conflicts until the last attempt", maxSaveAttempts - 1, 200, []string{"old", "new"}},
		{"conflicts on every attempt", maxSaveAttempts, http.StatusConflict, []string{"old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &faultyStore{Store: newMemoryStore(t, nil)}
			srv := serve(t, "app-1", store)
			c := newClient(t)
			c.postJSON(srv.URL+"/api/cart", `{"item":"old"}`, 200)
			store.set(func(f *faultyStore) { f.conflicts = tt.conflicts })

			r := c.postJSON(srv.URL+"/api/cart", `{"item":"new"}`, tt.wantStatus)
			if tt.wantStatus == http.StatusConflict {
				if msg := errorBody(t, r); !strings.Contains(msg, "try again") {
					t.Errorf("got error %q, want it to ask to try again", msg)
				}
			}
			if got := c.session(srv.URL).Cart; !slices.Equal(got, tt.wantCart) {
				t.Errorf("got cart %q, want %q", got, tt.wantCart)
			}
		})
	}
}

// TestStoreUnavailable checks that a failing store gives 503 with the
// documented message and no detail, overwrites nothing, and that the same
// cookie finds the session intact when the store is back.
func TestStoreUnavailable(t *testing.T) {
	store := &faultyStore{Store: newMemoryStore(t, nil)}
	srv := serve(t, "app-1", store)
	c := newClient(t)
	c.postJSON(srv.URL+"/api/login", `{"username":"ada"}`, 200)
	c.postJSON(srv.URL+"/api/cart", `{"item":"tea"}`, 200)
	store.set(func(f *faultyStore) { f.down = true })

	tests := []struct {
		name, method, path, ctype, body string
		wantJSON                        bool
	}{
		{"api session", "GET", "/api/session", "", "", true},
		{"api login", "POST", "/api/login", jsonType, `{"username":"eve"}`, true},
		{"api cart", "POST", "/api/cart", jsonType, `{"item":"x"}`, true},
		{"api logout", "POST", "/api/logout", "", "", true},
		{"readyz", "GET", "/readyz", "", "", true},
		{"page", "GET", "/", "", "", false},
		{"form login", "POST", "/login", formType, "username=eve", false},
		{"form cart", "POST", "/cart", formType, "item=x", false},
		{"form logout", "POST", "/logout", formType, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do(tt.method, srv.URL+tt.path, tt.ctype, tt.body)
			if r.status != http.StatusServiceUnavailable {
				t.Fatalf("got status %d, want 503; body %s", r.status, r.body)
			}
			if strings.Contains(r.body, "secret") || strings.Contains(r.body, "10.1.2.3") {
				t.Errorf("the answer leaks the backend error: %s", r.body)
			}
			if tt.wantJSON {
				if r.body != `{"error":"session store unavailable"}`+"\n" {
					t.Errorf("got body %q, want {\"error\":\"session store unavailable\"}", r.body)
				}
			} else if !strings.Contains(r.body, "session store unavailable") {
				t.Errorf("got page %s, want it to say the session store is unavailable", r.body)
			}
			if setCookie(r) != nil {
				t.Errorf("a failed request changed the cookie: %v", setCookie(r))
			}
		})
	}
	if got := srv.log.String(); !strings.Contains(got, "secret backend detail") {
		t.Errorf("the log does not hold the backend error; log:\n%s", got)
	}

	store.set(func(f *faultyStore) { f.down = false })
	if got := c.session(srv.URL); got.User != "ada" || !slices.Equal(got.Cart, []string{"tea"}) {
		t.Errorf("after the outage: got %+v, want ada with [tea]", got)
	}
	if r := c.do("GET", srv.URL+"/readyz", "", ""); r.status != http.StatusOK {
		t.Errorf("readyz after the outage: got %d, want 200", r.status)
	}
}

// TestPanicIsRecovered checks that a panic becomes a generic 500 that
// reveals nothing, with the stack in the log, and that the server goes on.
func TestPanicIsRecovered(t *testing.T) {
	store := &faultyStore{Store: newMemoryStore(t, nil), panics: true}
	srv := serve(t, "app-1", store)
	c := newClient(t)
	tests := []struct {
		name, path string
		wantJSON   bool
	}{
		{"api", "/api/session", true},
		{"page", "/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do("GET", srv.URL+tt.path, "", "")
			if r.status != http.StatusInternalServerError {
				t.Fatalf("got status %d, want 500", r.status)
			}
			if strings.Contains(r.body, "secret") || strings.Contains(r.body, "faultyStore") {
				t.Errorf("the answer leaks the panic: %s", r.body)
			}
			if tt.wantJSON && errorBody(t, r) != "internal error" {
				t.Errorf("got %s, want {\"error\":\"internal error\"}", r.body)
			}
			if got := r.header.Get(instanceHeaderName); got != "app-1" {
				t.Errorf("got %s %q, want app-1", instanceHeaderName, got)
			}
		})
	}
	if log := srv.log.String(); !strings.Contains(log, "panic serving request") || !strings.Contains(log, "faults_test.go") {
		t.Errorf("the log lacks the panic and its stack:\n%s", log)
	}
	if r := c.do("GET", srv.URL+"/healthz", "", ""); r.status != http.StatusOK {
		t.Errorf("healthz after panics: got %d, want 200", r.status)
	}
}
