package lab

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestInstancesShowCacheHits: GET /api/instances, which the dashboard
// polls, gives each instance's cache hit ratio, read off its /metrics: an
// instance on a real redis-server that answered a user's loads from its
// cache shows them.
func TestInstancesShowCacheHits(t *testing.T) {
	requireRedisServer(t)
	srv, err := startRedisServer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	f := testFleet(t, FleetConfig{Instances: 1, Store: "redis", RedisURL: srv.URL(), SessionKey: newSessionKey()})
	mux := http.NewServeMux()
	InstanceRoutes(f)(mux)
	admin := httptest.NewServer(mux)
	defer admin.Close()

	jar, _ := cookiejar.New(nil)
	user := &http.Client{Jar: jar}
	base := f.Instances()[0].URL
	resp, err := user.Post(base+"/api/login", "application/json", strings.NewReader(`{"username":"ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for range 3 {
		resp, err := user.Get(base + "/api/cart")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	resp, err = http.Get(admin.URL + "/api/instances")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Instances []instanceView }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Instances) != 1 || list.Instances[0].Cache == nil {
		t.Fatalf("got %+v, want one instance with its cache", list.Instances)
	}
	if c := list.Instances[0].Cache; c.Hits < 3 || c.HitRatio <= 0.5 {
		t.Errorf("got cache %+v, want the 3 loads after the login answered from the cache", *c)
	}
}
