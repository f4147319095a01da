package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"stickylab/sessionstore"
)

const testAdminToken = "test-admin-token-0123456789abcdef"

// serveSwitchable starts an App on a memory store whose in-place switch
// opens a Redis store on addr that migrates from it.
func serveSwitchable(t *testing.T, addr string) *testServer {
	t.Helper()
	logs := &logBuffer{}
	a, err := New(Config{
		Name:       "app-1",
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
		Registry:   prometheus.NewRegistry(),
		AdminToken: testAdminToken,
		SwitchStore: func(ctx context.Context, req StoreSwitch, current Store) (Store, error) {
			client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
			t.Cleanup(func() { client.Close() })
			st, err := sessionstore.NewRedis(client, testKeys, sessionstore.Config{MigrateFrom: current.(*sessionstore.Store)})
			if err != nil {
				return nil, err
			}
			return st, st.Ping(ctx)
		},
	}, newMemoryStore(t, nil))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, app: a, log: logs}
}

// TestSwitchStoreRefuses: the admin route needs the token and the one body
// it knows; a refused switch leaves the store as it was.
func TestSwitchStoreRefuses(t *testing.T) {
	mr := miniredis.RunT(t)
	srv := serveSwitchable(t, mr.Addr())
	plain := serve(t, "app-2", newMemoryStore(t, nil))
	tests := []struct {
		name       string
		url        string
		auth, body string
		want       int
	}{
		{"no admin token configured", plain.URL, "Bearer " + testAdminToken, `{"store":"redis","migrate":true}`, http.StatusNotFound},
		{"no token", srv.URL, "", `{"store":"redis","migrate":true}`, http.StatusForbidden},
		{"wrong token", srv.URL, "Bearer not-the-token", `{"store":"redis","migrate":true}`, http.StatusForbidden},
		{"token not as bearer", srv.URL, testAdminToken, `{"store":"redis","migrate":true}`, http.StatusForbidden},
		{"without migrate", srv.URL, "Bearer " + testAdminToken, `{"store":"redis"}`, http.StatusBadRequest},
		{"to cookie", srv.URL, "Bearer " + testAdminToken, `{"store":"cookie","migrate":true}`, http.StatusBadRequest},
		{"unknown field", srv.URL, "Bearer " + testAdminToken, `{"store":"redis","migrate":true,"x":1}`, http.StatusBadRequest},
	}
	for _, tc := range tests {
		c := newClient(t)
		r := c.do(http.MethodPut, tc.url+"/admin/store", "application/json", tc.body, "Authorization", tc.auth)
		if r.status != tc.want {
			t.Errorf("%s: got status %d, want %d; body %s", tc.name, r.status, tc.want, r.body)
		}
	}
	if got := srv.app.currentStore().Mode(); got != "memory" {
		t.Errorf("after refused switches: got store %s, want memory", got)
	}
	mr.Close()
	c := newClient(t)
	r := c.do(http.MethodPut, srv.URL+"/admin/store", "application/json", `{"store":"redis","migrate":true}`, "Authorization", "Bearer "+testAdminToken)
	if r.status != http.StatusServiceUnavailable || srv.app.currentStore().Mode() != "memory" {
		t.Errorf("Redis down: got status %d and store %s, want 503 and memory", r.status, srv.app.currentStore().Mode())
	}
}

// TestSwitchStoreMigrates is the lesson of the in-place switch: users
// logged in on the memory store stay logged in after the switch to Redis,
// their sessions move to Redis as they come back, and from then on another
// instance on the same Redis knows them.
func TestSwitchStoreMigrates(t *testing.T) {
	mr := miniredis.RunT(t)
	srv := serveSwitchable(t, mr.Addr())
	users := []string{"ada", "bob"}
	clients := map[string]*client{}
	for _, u := range users {
		c := newClient(t)
		c.postJSON(srv.URL+"/api/login", `{"username":"`+u+`"}`, http.StatusOK)
		c.postJSON(srv.URL+"/api/cart", `{"item":"tea"}`, http.StatusOK)
		clients[u] = c
	}
	admin := newClient(t)
	r := admin.do(http.MethodPut, srv.URL+"/admin/store", "application/json", `{"store":"redis","migrate":true}`, "Authorization", "Bearer "+testAdminToken)
	if r.status != http.StatusOK {
		t.Fatalf("switch: got status %d, want 200; body %s", r.status, r.body)
	}
	if got := len(mr.Keys()); got != 0 {
		t.Errorf("got %d keys in Redis right after the switch, want 0: sessions move when they are used", got)
	}
	other := serve(t, "app-2", newRedisStore(t, mr.Addr()))
	for i, u := range users {
		got := clients[u].session(srv.URL)
		if !got.LoggedIn || got.User != u || got.Store != "redis" || !slices.Equal(got.Cart, []string{"tea"}) {
			t.Errorf("%s after the switch: got %+v, want logged in with [tea] on redis", u, got)
		}
		if got := len(mr.Keys()); got != i+1 {
			t.Errorf("after %s's request: got %d keys in Redis, want %d", u, got, i+1)
		}
		if got := clients[u].session(other.URL); got.User != u {
			t.Errorf("%s on another instance on the same Redis: got user %q, want %q", u, got.User, u)
		}
	}
	again := admin.do(http.MethodPut, srv.URL+"/admin/store", "application/json", `{"store":"redis","migrate":true}`, "Authorization", "Bearer "+testAdminToken)
	if again.status != http.StatusOK {
		t.Errorf("switching again to the store in use: got status %d, want 200", again.status)
	}
}
